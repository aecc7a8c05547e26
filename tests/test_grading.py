"""Autograding with the course's real nbgrader set-up: reference solutions get full marks, the
blank release gets 0 on every test cell, and each deliberately wrong answer loses exactly the
points of the tests that should catch it."""
import importlib

import pytest

import harness

LABS = harness.labs()


def mutants_for(lab: str) -> list[dict]:
    return importlib.import_module(f"mutants.lab{lab[:2]}").MUTANTS


@pytest.mark.grading
@pytest.mark.parametrize("lab", LABS)
def test_autograde_solutions_blank_and_mutants(lab, tmp_path):
    mutants = mutants_for(lab)
    assert mutants, f"{lab}: tests/mutants/lab{lab[:2]}.py must define at least one wrong answer"
    points = harness.test_points(lab)
    assert points, f"{lab} has no autograded test cell"

    solved = harness.solved(lab)
    submissions = {"solutions": solved, "blank": harness.release_nb(lab)}
    for m in mutants:
        assert set(m["fails"]) <= set(points), f"{m['name']}: unknown test cells {m['fails']}"
        submissions[f"mutant-{m['name']}"] = harness.with_answer(solved, m["cell"], m["source"])

    scores, results = harness.autograde(tmp_path, lab, submissions)
    assert all(r.ok for r in results), [(r.student, r.message) for r in results if not r.ok]

    assert scores["solutions"] == points, "reference solutions must get full marks"
    assert scores["blank"] == {g: 0 for g in points}, "the untouched release must get 0"
    for m in mutants:
        expected = {g: (0 if g in m["fails"] else p) for g, p in points.items()}
        assert scores[f"mutant-{m['name']}"] == expected, f"mutant {m['name']}"
