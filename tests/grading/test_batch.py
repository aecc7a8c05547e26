"""`make grade` on Dask: the same grades as a serial run, through a killed worker and interrupted runs.

One class of Lab 01 hand-ins (the reference solutions, the blank release, the course's mutants, and
two more copies of the solutions) is graded three ways, each compared with the serial run's
``grades.csv``:

- serially, in the grading process (``--workers 0``): the reference;
- on a local Dask cluster of 2 workers, where the worker grading ``unlucky`` is killed once (its
  submission is graded again on a worker, same grade) and every worker that grades ``poison`` is
  killed (after Dask's allowed failures, and as many again in a round of its own, it is reported
  FAILED with the reason; the batch goes on);
- on 2 workers, stopped with Ctrl-C after the first merged result, run again and this time killed
  (SIGKILL to the grading process) after the next one, then run to its end: no submission is graded
  twice, none is lost.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest

import harness
from seqlab.grading import batch as grading_batch, cli, confine
from seqlab.grading import course as course_dir

LAB = "01-tokenization"


@pytest.fixture(scope="module")
def class_course(tmp_path_factory) -> Path:
    """A released Lab 01 with its hand-ins, not graded yet (copy it before grading)."""
    if not confine.status().confined:
        pytest.skip(f"this machine cannot confine a kernel:\n{confine.status().describe()}")
    course = harness.make_course(tmp_path_factory.mktemp("batch"), [LAB])
    course_dir.generate_release(course, [LAB])
    solved = harness.solved(LAB)
    notebooks = {"solutions": solved, "blank": harness.release_nb(LAB), "unlucky": solved, "poison": solved}
    for i, pack in enumerate(harness.pack_mutants(LAB, importlib_mutants())):
        nb = solved
        for m in pack:
            nb = harness.with_answer(nb, m["cell"], m["source"])
        notebooks[f"mutants-{i}"] = nb
    for student, nb in notebooks.items():
        (course / "submitted" / student / LAB).mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / LAB / f"{LAB}.ipynb")
    return course


def importlib_mutants() -> list[dict]:
    import importlib

    return importlib.import_module(f"mutants.lab{LAB[:2]}").MUTANTS


def copy_of(course: Path, tmp: Path) -> Path:
    shutil.copytree(course, tmp / "course")
    return tmp / "course"


def rows_of(course: Path) -> list[dict]:
    with open(course / "grades.csv") as f:
        return list(csv.DictReader(f))


def ledger_lines(course: Path) -> list[dict]:
    path = course / "autograded" / grading_batch.LEDGER
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def serial(class_course, tmp_path_factory) -> list[dict]:
    course = copy_of(class_course, tmp_path_factory.mktemp("serial"))
    assert cli.main(["--root", str(course), "--workers", "0"]) == 0
    rows = rows_of(course)
    assert all(r["status"] == "graded" for r in rows), rows
    return rows


def start_grading(course: Path, *extra: str) -> subprocess.Popen:
    """``make grade WORKERS=2`` on ``course`` in a process group of its own (as a terminal runs it)."""
    # Output to a file, not a pipe: a process left behind must fail a test, not hang it.
    out = open(course.parent / f"grade-{time.time_ns()}.out", "w+")
    grader = subprocess.Popen([sys.executable, "-m", "seqlab.grading", "--root", str(course), "--workers", "2", *extra],
                              cwd=course.parent, start_new_session=True, stdout=out, stderr=subprocess.STDOUT, text=True)
    grader.communicate = lambda timeout=None: (grader.wait(timeout), out.seek(0), out.read())[::2]  # (rc, text)
    return grader


class WorkerKiller(threading.Thread):
    """Kills (SIGKILL) the Dask worker process that is grading ``student``: at most ``times`` times."""

    def __init__(self, grader: subprocess.Popen, student: str, times: int):
        super().__init__(daemon=True)
        self.grader, self.student, self.times, self.killed = grader, student, times, []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and len(self.killed) < self.times and self.grader.poll() is None:
            for worker in self.workers_grading():
                worker.kill()
                self.killed.append(worker.pid)
                time.sleep(1)  # let the nanny notice, and the task move on
                break
            time.sleep(0.2)

    def workers_grading(self) -> list[psutil.Process]:
        """The worker processes (below the grader) whose confined kernel works on ``student``'s hand-in."""
        found = []
        try:
            below = psutil.Process(self.grader.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for proc in below:
            try:
                cmd = " ".join(proc.cmdline())
                launcher = "confine.py" in " ".join(proc.cmdline()[:4]) and "--inside" not in cmd
                if launcher and f"/autograded/{self.student}/{LAB}" in cmd:  # the kernel works in a copy of it
                    worker = proc.parent()
                    if worker and worker.pid != self.grader.pid and worker.pid not in self.killed:
                        found.append(worker)
            except psutil.Error:
                continue
        return found


@pytest.fixture(scope="module")
def killed_workers(class_course, tmp_path_factory):
    course = copy_of(class_course, tmp_path_factory.mktemp("killed"))
    grader = start_grading(course)
    unlucky = WorkerKiller(grader, "unlucky", times=1)
    poison = WorkerKiller(grader, "poison", times=2 * (grading_batch.ALLOWED_FAILURES + 1))
    unlucky.start(), poison.start()
    _, out = grader.communicate(timeout=420)
    unlucky.stop.set(), poison.stop.set()
    return course, grader.returncode, out, unlucky.killed, poison.killed


def test_no_kernel_outlives_the_worker_that_was_killed_under_it(killed_workers):
    _, _, _, unlucky, poison = killed_workers
    marks = [f"--parent {pid} " for pid in unlucky + poison]
    # The last kill may have come just before the batch ended: its launcher freezes and kills its
    # sandbox on a loaded machine in seconds, not at once. Left running, a sandbox would live until
    # its submission's deadline (900 s).
    for _ in range(30):
        left = [p.pid for p in psutil.process_iter(["cmdline"])
                if any(m in " ".join(p.info["cmdline"] or []) + " " for m in marks)]
        if not left:
            break
        time.sleep(1)
    assert not left, f"sandboxes of killed workers still running: {left}"


def test_the_parallel_run_grades_every_submission_as_the_serial_run(killed_workers, serial):
    course, code, out, unlucky, _ = killed_workers
    assert code == 0, out
    assert len(unlucky) == 1, "the worker grading 'unlucky' was not killed: the test proved nothing"
    rows = {r["student"]: r for r in rows_of(course)}
    assert len(rows_of(course)) == len(serial), "one row per submission, none lost or doubled"
    for expected in serial:
        if expected["student"] != "poison":
            assert rows[expected["student"]] == expected, f"{expected['student']}: serial and parallel runs differ"


def test_a_submission_that_keeps_killing_workers_is_reported_failed_and_the_batch_goes_on(killed_workers):
    course, code, out, _, poison = killed_workers
    assert len(poison) > grading_batch.ALLOWED_FAILURES, (poison, out)  # Dask may count one death twice
    row = next(r for r in rows_of(course) if r["student"] == "poison")
    assert row["status"].startswith("FAILED") and "worker died" in row["status"], row
    log = (course / grading_batch.LOG).read_text()
    assert "KilledWorker" in log or "worker" in log.lower()


def test_the_console_stays_quiet_and_says_where_the_dashboard_is(killed_workers):
    _, _, out, _, _ = killed_workers
    assert "local Dask cluster of 2 worker" in out
    assert "dashboard" in out
    for noise in ("WARNING", "Traceback", "oneDNN", "absl", "distributed.nanny"):
        assert noise not in out, f"{noise!r} on the console:\n{out}"


def wait_for_ledger(course: Path, lines: int, grader: subprocess.Popen, timeout: float = 600) -> None:
    end = time.time() + timeout
    while len(ledger_lines(course)) < lines:
        assert grader.poll() is None, f"the batch ended before {lines} result(s) were merged"
        assert time.time() < end, "no result merged in time"
        time.sleep(0.2)


def test_an_interrupted_and_a_killed_batch_resume_to_the_same_grades(class_course, serial, tmp_path):
    course = copy_of(class_course, tmp_path)
    total = len(serial)

    grader = start_grading(course)  # Ctrl-C after the first merged result
    wait_for_ledger(course, 1, grader)
    os.killpg(grader.pid, signal.SIGINT)
    _, out = grader.communicate(timeout=120)
    assert grader.returncode == 130, out
    assert "interrupted" in out and "make grade again" in out, out
    assert not (course / "grades.csv").exists(), "an interrupted batch writes no grades.csv"
    first = len(ledger_lines(course))
    assert 1 <= first < total

    grader = start_grading(course)  # the grading process killed outright after its next merge
    wait_for_ledger(course, first + 1, grader)
    grader.send_signal(signal.SIGKILL)
    _, out = grader.communicate(timeout=60)
    assert f"{first} submission(s) already graded and unchanged: kept" in out, out
    second = len(ledger_lines(course))

    grader = start_grading(course)
    _, out = grader.communicate(timeout=420)
    assert grader.returncode == 0, out
    assert f"{second} submission(s) already graded and unchanged: kept" in out, out
    assert rows_of(course) == serial, "the resumed batch's grades.csv differs from the uninterrupted one"
    graded = [(e["student"], e["lab"]) for e in ledger_lines(course)]
    assert sorted(graded) == sorted((r["student"], r["lab"]) for r in serial), \
        "each submission graded exactly once across the three runs"
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(course) in " ".join(p.info["cmdline"] or [])]
    assert not leftovers, f"processes of the killed batch still running: {leftovers}"
