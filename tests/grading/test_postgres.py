"""A big class's gradebook on PostgreSQL: ``make grade`` and ``make report`` through nbgrader's API.

nbgrader's SQLite gradebook takes one writer at a time; for a class that other tools write at the
same time (formgrader, a second instructor), ``c.CourseDirectory.db_url`` names a PostgreSQL
database. Here a throw-away PostgreSQL server (Debian's ``postgresql`` package: ``initdb`` and
``pg_ctl`` in a temporary folder, as the ``postgres`` user when the tests run as root) holds the
gradebook of a Lab 01 class graded on 2 Dask workers; the grades are the ones the reference, the
blank release and a mutant must get, nothing is written to a SQLite file, the class report reads
them, and a second run keeps every submission.

Skips, saying why, where the server binaries or the ``psycopg2`` driver are absent.
"""
from __future__ import annotations

import csv
import importlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

import harness
from seqlab.grading import confine
from seqlab.grading import course as course_dir

LAB = "01-tokenization"


def _server_binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver is not installed (pip install psycopg2-binary)")
    bin_dir = _server_binaries()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (Debian: apt install postgresql)")
    as_user: list[str] = []
    home = Path(tempfile.mkdtemp(prefix="seqlab-postgres-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        home.chmod(0o755)
        shutil.chown(home, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = home / "data"
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "seqlab", "--no-sync"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "server.log"), "-w",
                    "-o", f"-p {port} -h 127.0.0.1 -k {home} -F", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg2://seqlab@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def _grade(course: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEQLAB_SCALE": "smoke", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "seqlab.grading", "--root", str(course), "--workers", "2"],
                          cwd=course.parent, env=env, capture_output=True, text=True, timeout=900)


def test_a_class_is_graded_into_postgresql_and_reported_from_it(postgres_url, tmp_path):
    if not confine.status().confined:
        pytest.skip(f"this machine cannot confine a kernel:\n{confine.status().describe()}")
    course = harness.make_course(tmp_path, [LAB])
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    mutant = importlib.import_module(f"mutants.lab{LAB[:2]}").MUTANTS[0]
    solved = harness.solved(LAB)
    course_dir.generate_release(course, [LAB])
    for student, nb in {"reference": solved, "blank": harness.release_nb(LAB),
                        "mutant": harness.with_answer(solved, mutant["cell"], mutant["source"])}.items():
        (course / "submitted" / student / LAB).mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / LAB / f"{LAB}.ipynb")

    first = _grade(course)
    assert first.returncode == 0, first.stdout + first.stderr
    assert not (course / "gradebook.db").exists(), "grading wrote a SQLite gradebook beside PostgreSQL"
    with open(course / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    points = harness.test_points(LAB)
    auto_max = float(rows["reference"]["auto_max"])
    assert auto_max == sum(points.values())
    assert float(rows["reference"]["auto_score"]) == auto_max
    assert float(rows["blank"]["auto_score"]) == 0
    assert float(rows["mutant"]["auto_score"]) == auto_max - sum(points[t] for t in mutant["fails"])
    # The gradebook in PostgreSQL holds them, test cell by test cell.
    assert harness.scores(course, LAB, ["mutant"])["mutant"] == {
        name: (0.0 if name in mutant["fails"] else p) for name, p in points.items()}
    report = (course / "report" / "report.html").read_text()
    assert "mutant" in report and LAB in report

    again = _grade(course)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 submission(s) already graded and unchanged: kept" in again.stdout
