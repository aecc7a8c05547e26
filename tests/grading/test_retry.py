"""grade_one's retries and its whole-submission deadline, with nbgrader replaced by a stand-in."""
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from seqlab.grading import autograde


class FakeApi:
    """nbgrader's API as grade_one uses it: autograde answers from a script of outcomes."""

    def __init__(self, outcomes, on_call=None):
        self.outcomes, self.calls, self.on_call = list(outcomes), 0, on_call
        self.config = {"Execute": {"timeout": 5}}

    def autograde(self, lab, student, force=True, create=True):
        self.calls += 1
        if self.on_call:
            self.on_call()
        return self.outcomes.pop(0)


def submission(tmp_path):
    folder = tmp_path / "submitted" / "s" / "99-lab"
    folder.mkdir(parents=True)
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, folder / "99-lab.ipynb")
    return nb


def test_a_kernel_that_dies_once_not_in_any_cell_is_graded_again(tmp_path, monkeypatch):
    """(In CI two kernels were once given the same port.) The re-run cell by cell finds no killer:
    the submission is graded again, not failed."""
    release = submission(tmp_path)
    monkeypatch.setattr(autograde, "find_killer", lambda path, timeout: None)
    api = FakeApi([{"success": False, "error": "DeadKernelError: Kernel died"}, {"success": True}])
    result = autograde.grade_one(tmp_path, api, "s", "99-lab", release)
    assert result.ok and api.calls == 2
    assert any(n.startswith("retried") for n in result.notes)


def test_a_submission_has_one_wall_clock_budget_for_all_its_attempts(tmp_path, monkeypatch):
    release = submission(tmp_path)
    monkeypatch.setenv("SEQLAB_GRADING_WALL_S", "0.5")
    monkeypatch.setattr(autograde, "find_killer", lambda path, timeout: None)
    api = FakeApi([{"success": False, "error": "Kernel died"}] * 3, on_call=lambda: __import__("time").sleep(0.6))
    result = autograde.grade_one(tmp_path, api, "s", "99-lab", release)
    assert not result.ok and api.calls == 1
    assert "time limit for a whole submission" in result.message
    assert autograde.DEADLINE_ENV not in __import__("os").environ, "the deadline is the submission's only"
