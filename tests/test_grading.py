"""Autograding with the course's real nbgrader set-up: reference solutions get full marks, the
blank release gets 0 on every test cell, and each deliberately wrong answer loses exactly the
points of the tests that should catch it.

Each notebook nbgrader executes costs most of a minute, so wrong answers to different exercises
share a submission (harness.pack_mutants): they change different answer cells and must fail
different test cells, none of which can run another member's answer. A member that stops being
caught, or that breaks a test it should not, still shows up as a wrong score for that submission.

The same graded notebooks then give the feedback a student reads: a mutant's ``says`` (what the
test meant to catch it tells the student) must be in an output on its submission's feedback page
(not only in the visible test's code, which the page shows too), and no page may show a hidden
test's code."""
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
    packs = harness.pack_mutants(lab, mutants)
    for i, pack in enumerate(packs):
        nb = solved
        for m in pack:
            nb = harness.with_answer(nb, m["cell"], m["source"])
        submissions[f"mutants-{i}"] = nb

    scores, results = harness.autograde(tmp_path, lab, submissions)
    assert all(r.ok for r in results), [(r.student, r.message) for r in results if not r.ok]

    assert scores["solutions"] == points, "reference solutions must get full marks"
    assert scores["blank"] == {g: 0 for g in points}, "the untouched release must get 0"
    for i, pack in enumerate(packs):
        fails = {g for m in pack for g in m["fails"]}
        expected = {g: (0 if g in fails else p) for g, p in points.items()}
        assert scores[f"mutants-{i}"] == expected, f"mutants {[m['name'] for m in pack]}"

    course = tmp_path / "course"
    secret = harness.hidden_test_lines(lab)
    shown = harness.hidden_messages_shown()
    # A visible test's message is in its code too, and the feedback shows that code: the words must
    # be on the page more often than in the notebook's code cells, i.e. in an output as well.
    code = "\n".join(c.source for c in harness.release_nb(lab).cells if c.cell_type == "code")
    for i, pack in enumerate(packs):
        text = harness.feedback_text(course, f"mutants-{i}", lab)
        leaked = [s for s in secret if s in text]
        assert not leaked, f"feedback of {[m['name'] for m in pack]} shows hidden tests: {leaked[:3]}"
        for m in pack:
            for words in m.get("says", []):
                if words.startswith("hidden: "):
                    words = words[len("hidden: "):] if shown else harness.HIDDEN_FAILED
                assert text.count(words) > code.count(words), \
                    f"{m['name']}: the student's feedback does not say {words!r} (only its test's code does)"


@pytest.mark.parametrize("lab", LABS)
def test_every_mutant_says_what_the_student_reads(lab):
    """Each wrong answer names the message its feedback must show (checked by the grading test)."""
    for m in mutants_for(lab):
        assert m.get("says"), f"{m['name']}: give the words its feedback must show (``says``)"

