"""Autograde one submission in a confined kernel, whatever it does.

:func:`grade_one` is the room's entry point: for one (student, lab) of a course (on a grading
worker, a scratch course of its own: :mod:`.task`) it runs pre-flight (:mod:`.preflight`), nbgrader's
autograde (whose kernel :mod:`.kernel` confines), and, if the kernel died, finds the cell that killed
it and grades again without it. Every submission has a wall-clock budget as a whole
(:func:`.kernel.wall_limit_s`), shared by all its attempts. :func:`autograde` grades a batch
through :mod:`.batch`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import nbformat

from .course import DEMO_SOLUTIONS, api_for
from .kernel import DEADLINE_ENV, seconds_left, wall_limit_s


@dataclass
class Result:
    student: str
    lab: str
    ok: bool
    message: str = ""
    notes: list[str] = field(default_factory=list)
    log: str = field(default="", repr=False)  # nbgrader's own log of every attempt, for grading.log


def find_killer(path: Path, timeout: int) -> Optional[int]:
    """Execute ``path`` cell by cell; return the index of the cell during which the kernel died."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from .kernel import SandboxedKernelManager

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, kernel_manager_class=SandboxedKernelManager,
                            resources={"metadata": {"path": str(path.parent)}})
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    try:
                        client.execute_cell(cell, index)
                    except DeadKernelError:
                        return index
    except DeadKernelError:
        pass
    finally:
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
    return None


KILLED = ("This cell stopped the grading kernel (os._exit, a crash or running out of memory). "
          "It was skipped so that the rest of the notebook could be graded.")


def grade_one(root: Path, api, student: str, lab: str, release) -> Result:
    """Pre-flight, autograde and, if the kernel died, skip the cell that killed it and re-grade.

    A death that no cell reproduces (the notebook runs to its end, cell by cell) is not held
    against the student: the submission is graded again, at most three attempts in all. All the
    attempts share one wall-clock budget (:func:`.kernel.wall_limit_s`); a submission that uses it
    up fails with that reason and the batch goes on."""
    os.environ[DEADLINE_ENV] = f"{time.time() + wall_limit_s():.3f}"
    try:
        return _grade_one(root, api, student, lab, release)
    finally:
        os.environ.pop(DEADLINE_ENV, None)


def timed_out() -> str:
    return f"ran past the time limit for a whole submission ({wall_limit_s():.0f} s)"


def _grade_one(root: Path, api, student: str, lab: str, release) -> Result:
    from .preflight import check, keep_originals

    folder = root / "submitted" / student / lab
    report = check(folder, lab, release)
    notes = [f"repaired: {r}" for r in report.repaired] + [f"warning: {p}" for p in report.problems]
    if not report.gradable:
        return Result(student, lab, False, "; ".join(report.problems), notes=[n for n in notes if n.startswith("repaired")])
    timeout = int(api.config.get("Execute", {}).get("timeout", 600))
    message, logs = "", []
    for _ in range(3):
        if seconds_left() <= 0:
            message = timed_out()
            break
        out = api.autograde(lab, student, force=True, create=True)
        logs.append(out.get("log") or "")
        if out["success"]:
            return Result(student, lab, True, notes=notes, log="\n".join(logs))
        message = (out.get("error") or "") + "\n" + (out.get("log") or "")
        if "Kernel died" not in message and "DeadKernelError" not in message:
            break
        path = folder / f"{lab}.ipynb"
        index = find_killer(path, timeout) if seconds_left() > 0 else None
        if seconds_left() <= 0:
            message = timed_out()
            break
        if index is None:
            # Every cell ran with the kernel alive: the death was not the submission's doing (a
            # kernel that failed to start, e.g. two kernels given the same port, or a passing
            # memory shortage on the machine). Grade again rather than fail the student.
            message = "the kernel died, and not when re-run cell by cell"
            notes.append("retried: the grading kernel died once, not in any cell of the submission")
            continue
        nb = nbformat.read(path, as_version=4)
        if nb.cells[index].metadata.get("nbgrader", {}).get("locked"):
            message = f"the kernel died in locked cell {index + 1}"
            break
        keep_originals(folder)
        nb.cells[index].source = f"raise RuntimeError({KILLED!r})"
        nbformat.write(nb, path)
        notes.append(f"repaired: cell {index + 1} stopped the kernel; skipped and re-graded")
    lines = [l for l in message.strip().splitlines() if l.strip()]
    return Result(student, lab, False, lines[-1] if lines else "autograde failed", notes=notes,
                  log="\n".join(logs + [message]))


def autograde(root: Path, labs: list[str], students: list[str], api=None, **options) -> list[Result]:
    """Autograde each (student, lab) submission on its own; never stop the batch.

    The whole batch machinery of ``make grade`` (:func:`.batch.grade_class`): by default serially in
    this process; ``workers=N`` or ``scheduler=...`` grade on Dask."""
    from .batch import grade_class

    return grade_class(root, labs, students, api or api_for(root), **options)


def feedback(root: Path, results: list[Result], api=None) -> list[Result]:
    """HTML feedback for every graded submission, without hidden tests."""
    api = api or api_for(root)
    failed = []
    for r in results:
        if r.ok:
            out = api.generate_feedback(r.lab, r.student, force=True)
            if not out["success"]:
                failed.append(Result(r.student, r.lab, False, "feedback failed"))
    return failed


def award_reference_answers(root: Path, labs: list[str]) -> None:
    """Give ``demo-solutions`` full manual marks: its written answers *are* the reference."""
    from nbgrader.api import Gradebook, MissingEntry

    api = api_for(root)
    with Gradebook(api.coursedir.db_url) as gb:
        for lab in labs:
            try:
                submission = gb.find_submission(lab, DEMO_SOLUTIONS)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade:
                        grade.manual_score = grade.max_score
                        grade.needs_manual_grade = False
        gb.db.commit()


