"""The attack suite: hostile submissions graded by `make grade`'s engine, each confined.

Each attack (attacks.py) gets exactly its honest score; nothing of the course changes but what the
grader writes; no file is left outside the course; no process of an attack outlives the batch; nothing
reaches the grader's listener on loopback. The batch is graded as `make grade` grades by default, on a
local Dask cluster of two worker processes: the confinement holds inside Dask workers.
test_confinement_landlock_only.py repeats every check with namespaces turned off (Landlock, limits and
the supervisor alone), graded in the grading process itself.
"""
import pytest

import attacks
from confinement import grade_attacks
from seqlab.grading import confine

MODE = "all-layers"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    state = confine.status()
    if not state.confined:
        pytest.skip(f"this machine cannot confine a kernel:\n{state.describe()}")
    with pytest.MonkeyPatch.context() as mp:
        return grade_attacks(tmp_path_factory.mktemp("attacks"), MODE, mp, workers=2)


def test_the_batch_completes_with_a_row_for_everyone(batch):
    assert batch.code == 0
    students = set(attacks.NAMES) | {attacks.CLASSMATE}
    assert set(batch.rows) - {"__lines__"} == students
    assert len(batch.rows["__lines__"]) == 1 + len(students), "grades.csv: a header and one row each, nothing forged"
    failed = {s: r["status"] for s, r in batch.rows.items() if s != "__lines__" and "FAILED" in r["status"]}
    assert not failed, failed


@pytest.mark.parametrize("name", attacks.NAMES)
def test_each_attack_gets_exactly_its_honest_score(batch, name):
    assert batch.scores[name] == attacks.HONEST, (name, batch.outputs[name])
    assert "stole" not in batch.outputs[name], batch.outputs[name]


def test_the_classmate_graded_after_every_attack_keeps_full_marks(batch):
    assert batch.scores[attacks.CLASSMATE] == attacks.POINTS


def test_nothing_outside_the_scratch_directories_changed(batch):
    assert batch.changed == [], f"course files changed by a submission: {batch.changed}"
    assert not batch.gradebook_cells_changed, "the gradebook's test cells were rewritten"
    assert batch.outside == [], f"files written outside the course: {batch.outside}"


def test_no_process_of_an_attack_outlives_the_batch(batch):
    assert batch.alive == [], f"still running after the batch: {batch.alive}"
    assert batch.kernels_left == [], f"kernel folders not removed: {batch.kernels_left}"


def test_no_connection_left_a_kernel(batch):
    assert batch.tcp == [], f"TCP connections reached the grader's listener: {batch.tcp}"
    if batch.mode == "all-layers" and confine.status().namespaces:  # Landlock has no UDP rules
        assert batch.udp == [], f"UDP datagrams reached the grader's listener: {batch.udp}"
    assert "reached" not in batch.outputs["connects-to-loopback"], batch.outputs["connects-to-loopback"]


def test_the_fork_bomb_and_the_huge_file_were_stopped(batch):
    assert "stopped the kernel" in batch.rows["fork-bomb"]["status"], batch.rows["fork-bomb"]["status"]
    out = batch.outputs["huge-file"]
    assert "stopped after" in out, out
    assert int(out.split("stopped after")[1].split()[0]) <= 1024, out
