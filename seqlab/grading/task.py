"""One submission, self-contained: what travels to a grading worker, and what comes back.

A worker (a Dask worker on another machine, or the grading process itself when it grades
serially) needs no shared file system and never touches the course:

- :func:`lab_template` (on the driver, once per lab) packs a scratch course for one lab:
  ``nbgrader_config.py``, ``release/<lab>/``, the lab's non-notebook source files, and a gradebook
  that holds only that lab's cells (test cells included), copied through nbgrader's API from the
  course's gradebook (SQLite or PostgreSQL alike).
- A :class:`Bundle` is one student's hand-in for one lab: its files, and the settings that change a
  grade (time limits, confinement, the environment the kernel needs).
- :func:`grade_bundle` (on the worker) unpacks both into a scratch folder, grades them with the same
  machinery as ever (:func:`.autograde.grade_one`: pre-flight, a confined kernel, the cell that
  killed it skipped), writes the student's feedback, and returns an :class:`Outcome`: the result,
  the scores nbgrader saved, the autograded and feedback files, the log and where the time went.

The driver (:mod:`.batch`) is the only writer of the course: it merges outcomes as they come.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import shutil
import socket
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from .autograde import Result

#: Files of a submission folder that never travel (nbgrader's own ignore list, and editors' leftovers).
IGNORED = (".ipynb_checkpoints", "__pycache__", ".preflight")
#: Environment variables a worker takes from the driver for the duration of a task.
CARRIED_ENV = ("SEQLAB_GRADING_WALL_S", "SEQLAB_GRADING_MEMORY_GB", "SEQLAB_CONFINE_NO_NAMESPACES",
               "SEQLAB_GRADING_UNCONFINED", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
               "OMP_NUM_THREADS")

# A grading task changes process-wide state (the environment that carries the submission's deadline,
# the working directory, file descriptor 2): a worker with several threads grades one at a time.
_ONE_AT_A_TIME = threading.Lock()


@dataclass
class Bundle:
    """One (student, lab) hand-in and everything about it that can change its grade."""

    student: str
    lab: str
    files: dict[str, bytes]
    digest: str
    cell_timeout: Optional[int] = None
    env: dict[str, str] = field(default_factory=dict)
    tfds_data_dir: Optional[str] = None


@dataclass
class Outcome:
    """What a worker sends back: never more than this submission's own files and scores."""

    result: Result
    timestamp: Optional[str] = None
    scores: dict[str, dict[str, dict]] = field(default_factory=dict)
    autograded: dict[str, bytes] = field(default_factory=dict)
    feedback: dict[str, bytes] = field(default_factory=dict)
    log: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    worker: str = ""


# --- on the driver: what travels ---------------------------------------------------------------

def read_folder(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative POSIX path -> bytes), without :data:`IGNORED` ones."""
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part in IGNORED or part.endswith(".pyc") for part in rel.parts):
            files[rel.as_posix()] = path.read_bytes()
    return files


def digest_of(files: dict[str, bytes], *extra: str) -> str:
    """A content digest of a set of files and any extra strings (names included)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    for value in extra:
        h.update(b"\1" + value.encode())
    return h.hexdigest()


def copy_assignment(src, dst, lab: str) -> None:
    """Copy ``lab``'s assignment, notebooks and cells from gradebook ``src`` into ``dst``."""
    assignment = src.find_assignment(lab)
    dst.update_or_create_assignment(lab, duedate=assignment.duedate)
    for nb in assignment.notebooks:
        dst.update_or_create_notebook(nb.name, lab, kernelspec=nb.kernelspec)
        for c in nb.grade_cells:
            dst.update_or_create_grade_cell(c.name, nb.name, lab, max_score=c.max_score, cell_type=c.cell_type)
        for c in nb.solution_cells:
            dst.update_or_create_solution_cell(c.name, nb.name, lab)
        for c in nb.task_cells:
            dst.update_or_create_task_cell(c.name, nb.name, lab, max_score=c.max_score, cell_type=c.cell_type)
        for c in nb.source_cells:
            dst.update_or_create_source_cell(c.name, nb.name, lab, cell_type=c.cell_type, locked=c.locked,
                                             source=c.source, checksum=c.checksum)


def _alembic_head_once() -> None:
    """Find the installed nbgrader's gradebook schema version once per process, and in it.

    nbgrader stamps every new gradebook with that version, found by running the ``alembic heads``
    command each time: a Python process of its own, 2.1 s here, most of the first lab template's
    cost, paid by every batch before its first task. Alembic reads the same answer from nbgrader's
    migration scripts in this process in 2 ms (0.2 s with its import); it cannot change while this
    process runs, so it is kept. If that way fails, nbgrader's own command is asked, once."""
    from nbgrader import api as nbgrader_api

    if not hasattr(nbgrader_api.get_alembic_version, "cache_info"):
        nbgrader_api.get_alembic_version = functools.lru_cache(maxsize=1)(
            functools.partial(alembic_head, nbgrader_api.get_alembic_version))


def alembic_head(fallback=None) -> str:
    """The head revision of nbgrader's gradebook migrations (what ``alembic heads`` prints first)."""
    try:
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        from nbgrader.dbutil import _temp_alembic_ini

        with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
            heads = ScriptDirectory.from_config(Config(ini)).get_heads()
        if len(heads) == 1:
            return heads[0]
    except Exception:  # noqa: BLE001 - nbgrader's own way below
        pass
    if fallback is None:
        raise RuntimeError("nbgrader's gradebook migrations have no single head")
    return fallback()


def lab_template(root: Path, lab: str, api) -> bytes:
    """A scratch course for ``lab`` as a ``.tar.gz``: what every worker needs to grade it."""
    from nbgrader.api import Gradebook

    _alembic_head_once()

    with tempfile.TemporaryDirectory(prefix="seqlab-template-") as tmp, scratch_gradebooks(Path(tmp)):
        course = Path(tmp)
        shutil.copy(root / "nbgrader_config.py", course)
        shutil.copytree(root / "release" / lab, course / "release" / lab,
                        ignore=shutil.ignore_patterns(*IGNORED, "*.pyc"))
        (course / "source" / lab).mkdir(parents=True)
        for name, data in read_folder(root / "source" / lab).items():
            if not name.endswith(".ipynb"):  # nbgrader copies these over a submission's
                (course / "source" / lab / name).parent.mkdir(parents=True, exist_ok=True)
                (course / "source" / lab / name).write_bytes(data)
        course_id = api.coursedir.course_id
        with Gradebook(api.coursedir.db_url, course_id) as src, \
                Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id) as dst:
            copy_assignment(src, dst, lab)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(course, arcname=".")
        return buffer.getvalue()


# --- on the worker -----------------------------------------------------------------------------

def grade_bundle(template: bytes, bundle: Bundle) -> Outcome:
    """Grade one hand-in in a scratch course of its own; return what the driver needs to merge it."""
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="seqlab-task-") as tmp, \
            scratch_gradebooks(Path(tmp)), _environment(bundle), _stderr_to(Path(tmp) / "task.log") as log_path:
        return _grade_in(Path(tmp), template, bundle, log_path)


@contextlib.contextmanager
def scratch_gradebooks(folder: Path) -> Iterator[None]:
    """SQLite gradebooks under ``folder``, a throw-away scratch course, do not wait for the disk.

    nbgrader commits after every change, and SQLite syncs each commit to disk: ~18 ms each on this
    machine's disk, and a submission's autograde and feedback make dozens. A scratch gradebook is
    thrown away when its task ends (a crash costs a re-grade, never a grade), so its connections
    run with ``synchronous=OFF`` and the journal in memory. Only files under ``folder``: the
    course's own gradebook, which the driver alone writes, keeps SQLite's full durability."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    prefix = os.path.realpath(folder) + os.sep

    def on_connect(dbapi_connection, _record) -> None:
        if type(dbapi_connection).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA database_list")
            files = [row[2] for row in cursor.fetchall()]
            if files and files[0] and os.path.realpath(files[0]).startswith(prefix):
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA journal_mode=MEMORY")
        finally:
            cursor.close()

    event.listen(Engine, "connect", on_connect)
    try:
        yield
    finally:
        event.remove(Engine, "connect", on_connect)


def _grade_in(tmp: Path, template: bytes, bundle: Bundle, log_path: Path) -> Outcome:
    from nbgrader.api import Gradebook
    import nbformat

    from . import confine
    from .autograde import grade_one
    from .course import api_for

    seconds: dict[str, float] = {}
    cpu_before = _grader_cpu_seconds()
    clock = time.perf_counter()
    course = tmp / "course"
    with tarfile.open(fileobj=io.BytesIO(template), mode="r:gz") as tar:
        tar.extractall(course, filter="data")
    folder = course / "submitted" / bundle.student / bundle.lab
    for name, data in bundle.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    overrides: dict = {"CourseDirectory": {"db_url": f"sqlite:///{course / 'gradebook.db'}"}}
    if bundle.cell_timeout:
        overrides["Execute"] = {"timeout": bundle.cell_timeout}
    api = api_for(course, overrides)
    release = nbformat.read(course / "release" / bundle.lab / f"{bundle.lab}.ipynb", as_version=4)
    seconds["unpack"] = time.perf_counter() - clock

    state = confine.status()
    if not state.confined and not confine.unconfined():
        raise RuntimeError(f"worker {socket.gethostname()} cannot confine a grading kernel "
                           f"(and the batch is not --unconfined):\n{state.describe()}")
    clock = time.perf_counter()
    work = tmp / "work"  # the grader's own working directory: nothing of any course around it
    work.mkdir()
    with contextlib.chdir(work):
        result = grade_one(course, api, bundle.student, bundle.lab, release)
        seconds["autograde"] = time.perf_counter() - clock
        outcome = Outcome(result=result, worker=f"{socket.gethostname()}:{os.getpid()}")
        if result.ok:
            clock = time.perf_counter()
            out = api.generate_feedback(bundle.lab, bundle.student, force=True)
            if not out["success"]:
                result.notes.append("warning: feedback could not be written (see grading.log)")
                result.log += "\n" + (out.get("log") or "") + (out.get("error") or "")
            seconds["feedback"] = time.perf_counter() - clock

    clock = time.perf_counter()
    if result.ok:
        with Gradebook(api.coursedir.db_url) as gb:
            sub = gb.find_submission(bundle.lab, bundle.student)
            outcome.timestamp = sub.timestamp.isoformat() if sub.timestamp else None
            outcome.scores = {nb.name: {"grades": {g.name: g.auto_score for g in nb.grades},
                                        "comments": {c.name: c.auto_comment for c in nb.comments}}
                              for nb in sub.notebooks}
        outcome.autograded = read_folder(course / "autograded" / bundle.student / bundle.lab)
        outcome.feedback = read_folder(course / "feedback" / bundle.student / bundle.lab)
    seconds["pack"] = time.perf_counter() - clock
    outcome.seconds = seconds
    outcome.cpu = {"grader": round(_grader_cpu_seconds() - cpu_before, 2)}
    outcome.log = log_path.read_text(errors="replace") + ("\n" + result.log if result.log else "")
    result.log = ""
    return outcome


def _grader_cpu_seconds() -> float:
    """CPU seconds so far of this grading thread: nbgrader's own work around the kernel (the kernel
    runs in processes of its own, whose time is not counted here)."""
    import resource

    me = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    return me.ru_utime + me.ru_stime


@contextlib.contextmanager
def _environment(bundle: Bundle) -> Iterator[None]:
    """The driver's grading settings, for this task only; the datasets where this worker has them."""
    saved = dict(os.environ)
    os.environ.update(bundle.env)
    for name in CARRIED_ENV:
        if name not in bundle.env:
            os.environ.pop(name, None)
    if bundle.tfds_data_dir and os.path.isdir(bundle.tfds_data_dir):
        os.environ["TFDS_DATA_DIR"] = bundle.tfds_data_dir
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[Path]:
    """Everything written to file descriptor 2 meanwhile (kernel start-up noise, nbgrader's and
    TensorFlow's warnings) goes to ``path``: the grader's console stays quiet."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield path
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
