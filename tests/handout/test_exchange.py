"""nbgrader's exchange end to end, with real Unix accounts: release, fetch, submit, collect, grade,
return feedback, fetch feedback.

Who is real and what is simulated:

- Three students are real Unix users made for this test (``useradd``, homes ``0700``, deleted at
  the end), and every student step runs *as that user* (``runuser``) with nbgrader's own command
  line (``nbgrader fetch_assignment`` / ``submit`` / ``fetch_feedback``) in the student's home, as a
  student's JupyterLab does behind its Assignments tab. nbgrader's exchange permissions are what
  keep students apart, and the test checks them from a student's side.
- The instructor is root, with a private course directory (a throw-away copy of the course with
  Lab 01), and runs ``seqlab.grading.exchange`` (``make release-exchange`` / ``collect`` /
  ``return-feedback``) and the grading engine (``make grade``'s ``seqlab.grading.cli.main``).
- On a JupyterHub the Python environment with nbgrader is installed where every user can run it
  (``/opt/conda``, ``/usr/local``). Here the virtual environment's interpreter lives under
  ``/root`` (mode ``0700``), which a student cannot traverse. Rather than open ``/root``, each student
  command runs in a private mount namespace in which ``/root`` is an empty tmpfs holding only the
  interpreter's install (read-only bind mount): the student sees the Python a hub would share and
  nothing else of ``/root``. The student's ``~/.jupyter/nbgrader_config.py`` (exchange root and
  course id, what a hub's ``/etc/jupyter`` would hold) is written by the instructor.
- Editing a notebook is done by a small script the student runs on their own fetched copy (typing
  the answers in, as a browser would save them); the answers themselves come from the reference
  solutions, which the test (root) reads for them.
"""
from __future__ import annotations

import csv
import datetime
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import harness
from seqlab.grading import cli, exchange as hub

LAB = "01-tokenization"
COURSE_ID = "seqlab"
VENV_BIN = Path(sys.executable).parent
PARTIAL = ("build_vocab", "encode")  # student 2: 5 of 8 autograded points
FIRST_TRY = ("build_vocab",)         # student 1's first submission: 3 of 8

pytestmark = pytest.mark.grading


def _blocked_ancestor(path: Path) -> Path | None:
    """The first folder above ``path`` that other users cannot traverse, if any."""
    for parent in reversed(path.parents):
        if not parent.stat().st_mode & 0o001:
            return parent
    return None


def _missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "needs root: the students are real Unix users made with useradd"
    for tool in ("useradd", "userdel", "runuser", "unshare", "mount"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    if _blocked_ancestor(VENV_BIN):
        return f"the virtual environment {VENV_BIN} is not reachable by other users"
    return None


class Students:
    """Real Unix accounts, and a way to run a command as one of them."""

    def __init__(self, names: list[str], staging: Path):
        self.names = names
        self.staging = staging
        prefix = Path(os.path.realpath(sys.base_prefix))
        self.hidden = _blocked_ancestor(prefix)  # e.g. /root holding /root/.pyenv
        self.prefix = prefix

    def home(self, name: str) -> Path:
        return Path(pwd.getpwnam(name).pw_dir)

    def command(self, name: str, *argv: str, env: dict[str, str] | None = None) -> list[str]:
        """The command line that runs ``argv`` as student ``name`` in their home, with only their own
        environment (plus ``env``)."""
        home = self.home(name)
        env = ["env", "-i", f"HOME={home}", f"USER={name}", f"LOGNAME={name}",
               f"PATH={VENV_BIN}:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
               *(f"{key}={value}" for key, value in (env or {}).items())]
        as_user = ["runuser", "-u", name, "--", *env, "sh", "-c", 'cd "$HOME" && exec "$@"', "sh", *argv]
        if self.hidden is not None:
            # /root (0700) becomes an empty tmpfs with only the interpreter's install bound back.
            inside = self.prefix.relative_to(self.hidden)
            script = ('set -e; mount --bind "$1" "$2"; mount -t tmpfs -o mode=0755,size=1m tmpfs "$3"; '
                      'mkdir -p "$3/$4"; mount --bind "$2" "$3/$4"; mount -o remount,bind,ro "$3/$4"; '
                      'shift 4; exec "$@"')
            as_user = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
                       str(self.prefix), str(self.staging), str(self.hidden), str(inside), *as_user]
        return as_user

    def run(self, name: str, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """``argv`` as student ``name`` in their home (see :meth:`command`); its output."""
        return subprocess.run(self.command(name, *argv), input=stdin, capture_output=True, text=True,
                              timeout=300)


@pytest.fixture(scope="session")
def students():
    reason = _missing_prerequisite()
    if reason:
        pytest.skip(reason)
    tag = secrets.token_hex(3)
    names = [f"sl{tag}s{i}" for i in (1, 2, 3)]
    staging = Path(tempfile.mkdtemp(prefix="seqlab-pyenv-"))
    made = []
    try:
        for name in names:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "--user-group", name],
                           check=True, capture_output=True)
            made.append(name)
            home = Path(pwd.getpwnam(name).pw_dir)
            home.chmod(0o700)
        yield Students(names, staging)
    finally:
        for name in made:
            subprocess.run(["userdel", "--remove", name], capture_output=True)
        staging.rmdir()


@pytest.fixture
def exchange_root():
    parent = Path(tempfile.mkdtemp(prefix="seqlab-hub-"))
    parent.chmod(0o755)
    yield parent / "exchange"  # missing: release must create it, world-writable
    shutil.rmtree(parent)


def _answers(names: tuple[str, ...] | None) -> dict[str, str]:
    """{answer grade_id: the reference answer as typed}, for ``names`` (all when None)."""
    from seqlab.grading.course import strip_solution_markers

    return {c.metadata.nbgrader["grade_id"]: strip_solution_markers(c.source)
            for c in harness.source_nb(LAB).cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            and (names is None or c.metadata.nbgrader["grade_id"] in names)}


# Run by the student, on their own notebook: type the answers read from stdin into their cells.
EDIT = """
import json, sys, nbformat
path = sys.argv[1]
answers = json.load(sys.stdin)
nb = nbformat.read(path, as_version=4)
for cell in nb.cells:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    if gid in answers:
        cell.source = answers[gid]
nbformat.write(nb, path)
print("edited", len(answers), "cell(s)")
"""


def test_exchange_round_trip(students, exchange_root, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the grading engine changes directory; give it back afterwards
    s1, s2, s3 = students.names
    course = harness.make_course(tmp_path, [LAB])
    transcript: list[str] = []

    def say(who: str, what: str) -> None:
        transcript.append(f"{who:>12}: {what}")

    def student(name: str, *argv: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
        out = students.run(name, *argv, stdin=stdin)
        if ok:
            assert out.returncode == 0, f"{name}: {' '.join(argv)}\n{out.stdout}\n{out.stderr}"
        return out

    def instructor(*argv: str) -> str:
        """``python -m seqlab.grading.exchange <step>`` (make release-exchange / collect / return-feedback)."""
        capsys.readouterr()
        assert hub.main([*argv, "--lab", LAB, "--root", str(course), "--exchange", str(exchange_root)]) == 0
        return capsys.readouterr().out

    # --- instructor: release ------------------------------------------------------------------
    instructor("release")
    assert exchange_root.stat().st_mode & 0o777 == 0o777
    outbound = exchange_root / COURSE_ID / "outbound" / LAB
    inbound = exchange_root / COURSE_ID / "inbound"
    assert (outbound / f"{LAB}.ipynb").is_file()
    say("instructor", f"release_assignment {LAB} -> {sorted(p.name for p in outbound.iterdir())}")
    for name in students.names:
        cfg = students.home(name) / ".jupyter" / "nbgrader_config.py"
        cfg.parent.mkdir()
        cfg.write_text(hub.student_config(exchange_root, COURSE_ID))
        shutil.chown(cfg.parent, name, name)
        shutil.chown(cfg, name, name)
        assert (students.home(name).stat().st_mode & 0o777) == 0o700

    # --- students: list, fetch, edit, submit ---------------------------------------------------
    listed = student(s1, "nbgrader", "list")
    assert LAB in listed.stdout + listed.stderr
    say(s1, f"nbgrader list -> sees {LAB} released")
    for name in students.names:
        student(name, "nbgrader", "fetch_assignment", LAB)
        nb = students.home(name) / LAB / f"{LAB}.ipynb"
        assert nb.is_file() and nb.stat().st_uid == pwd.getpwnam(name).pw_uid
        assert "### BEGIN SOLUTION" not in nb.read_text()
        say(name, f"fetch_assignment -> ~/{LAB}/{LAB}.ipynb (own file, no solutions)")

    def edit_and_submit(name: str, cells: tuple[str, ...] | None) -> str:
        edited = student(name, "python", "-c", EDIT, f"{LAB}/{LAB}.ipynb", stdin=json.dumps(_answers(cells)))
        sub = student(name, "nbgrader", "submit", LAB)
        assert "Submitted as" in sub.stdout + sub.stderr, sub.stdout + sub.stderr
        stamp = max((students.home(name) / ".local/share/jupyter/nbgrader_cache" / COURSE_ID).iterdir()).name
        say(name, f"{edited.stdout.strip()}; submit -> {stamp.split('+')[2]}")
        return stamp.split("+")[2]

    edit_and_submit(s1, FIRST_TRY)
    time.sleep(1.1)
    s1_last = edit_and_submit(s1, None)
    due = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(1.1)
    s2_stamp = edit_and_submit(s2, PARTIAL)
    hub.set_due_date(course, LAB, due)
    say("instructor", f"due date {due:%H:%M:%S.%f} UTC, between {s1}'s last and {s2}'s submission")
    say(s3, "never submits")

    # --- what a student can see of the others -----------------------------------------------
    def cannot_list(target: Path, what: str) -> None:
        peek = student(s2, "ls", str(target), ok=False)
        assert peek.returncode != 0 and "Permission denied" in peek.stderr, peek
        say(s2, f"ls {what} -> Permission denied")

    cannot_list(inbound, "the exchange's inbound (every submission)")
    peek = student(s2, "cat", str(students.home(s1) / LAB / f"{LAB}.ipynb"), ok=False)
    assert peek.returncode != 0 and "Permission denied" in peek.stderr
    say(s2, f"cat {s1}'s notebook in their home -> Permission denied")

    # Student 2 writes a later "submission" in student 1's name into the inbound folder (it is
    # writable by all); nbgrader alone would collect it as student 1's latest.
    from nbgrader.utils import parse_utc

    forged_stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    assert parse_utc(forged_stamp) > parse_utc(s1_last)  # nbgrader would take it as s1's latest
    forged = f"{s1}+{LAB}+{forged_stamp}+forged"
    student(s2, "sh", "-c", f'd="{inbound}/{forged}" && mkdir "$d" && cp {LAB}/{LAB}.ipynb "$d/" '
                            f'&& printf "%s" "{forged.split("+")[2]}" > "$d/timestamp.txt"')
    say(s2, f"writes a later submission named as {s1}'s into the inbound folder")

    # --- instructor: collect, grade, return feedback ------------------------------------------
    log = instructor("collect")
    assert f"NOT COLLECTED {forged}: submitted by {s2}, not by {s1}" in log, log
    assert (course / "unplaced" / "exchange" / forged / f"{LAB}.ipynb").is_file()
    assert "cheating attempt" not in log, log
    say("instructor", f"collect sets aside {s2}'s submission in {s1}'s name -> unplaced/exchange/")
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted([s1, s2])
    assert (submitted / s1 / LAB / "timestamp.txt").read_text().strip() == s1_last
    assert (submitted / s2 / LAB / "timestamp.txt").read_text().strip() == s2_stamp
    say("instructor", f"collect --update -> submitted/{{{s1},{s2}}} ({s1}: latest, {s1_last})")

    assert cli.main(["--root", str(course), "--lab", LAB]) == 0
    with open(course / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == sorted([s1, s2]), rows  # real students only: no demo class
    assert float(rows[s1]["auto_score"]) == float(rows[s1]["auto_max"]) == 8.0
    assert float(rows[s2]["auto_score"]) == 5.0
    late = _seconds_late(course)
    assert late[s1] == 0 and late[s2] > 0, late
    say("instructor", f"make grade -> {s1} {rows[s1]['auto_score']}/8 on time, "
                      f"{s2} {rows[s2]['auto_score']}/8 late by {late[s2]:.1f} s")

    instructor("feedback")
    released = list((exchange_root / COURSE_ID / "feedback").glob("*.html"))
    assert len(released) == 2
    say("instructor", f"release_feedback -> {len(released)} feedback file(s) in the exchange")
    cannot_list(exchange_root / COURSE_ID / "feedback", "the exchange's feedback (every student's)")

    # --- students: fetch feedback --------------------------------------------------------------
    for name, score in ((s1, "8.0"), (s2, "5.0"), (s3, None)):
        student(name, "nbgrader", "fetch_feedback", LAB)
        got = sorted((students.home(name) / LAB / "feedback").glob("*/*.html")) \
            if (students.home(name) / LAB / "feedback").exists() else []
        if score is None:
            assert got == []
            say(name, "fetch_feedback -> nothing (no submission)")
            continue
        assert len(got) == 1, got  # s1: feedback for the graded (last) submission only
        html = got[0].read_text()
        assert got[0].parent.name == (s1_last if name == s1 else s2_stamp)
        assert got[0].stat().st_uid == pwd.getpwnam(name).pw_uid
        assert html == (course / "feedback" / name / LAB / f"{LAB}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html
        say(name, f"fetch_feedback -> ~/{got[0].relative_to(students.home(name))} (their own, graded copy)")
    other = student(s2, "cat", str(next(iter((students.home(s1) / LAB / "feedback").glob("*/*.html")))), ok=False)
    assert other.returncode != 0 and "Permission denied" in other.stderr
    say(s2, f"cat {s1}'s feedback -> Permission denied")

    with capsys.disabled():
        print("\nexchange transcript:\n" + "\n".join(transcript))
    assert len(transcript) == 22


def _seconds_late(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    from seqlab.grading.course import api_for

    with Gradebook(api_for(course).coursedir.db_url) as gb:
        return {s.student.id: s.total_seconds_late for s in gb.find_assignment(LAB).submissions}
