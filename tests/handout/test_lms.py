"""LMS hand-in and hand-back: zips named as Canvas and Moodle name submissions, imported into
``submitted/`` with every bad file reported and kept; grades and feedback exported for upload."""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import nbformat
import pytest

import harness
from seqlab.grading import cli, lms

LAB = "01-tokenization"
OLD, NEW = (2026, 12, 1, 9, 0, 0), (2026, 12, 2, 9, 0, 0)


def _text(nb) -> str:
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def notebooks() -> dict[str, str]:
    full = harness.solved(LAB)
    blank = harness.release_nb(LAB)
    pad = next(c.source for c in blank.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "pad_or_truncate")
    return {"full": _text(full), "blank": _text(blank),
            "partial": _text(harness.with_answer(full, "pad_or_truncate", pad))}  # 5 of 8 points


def _zip(path: Path, members: list[tuple[str, str | bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, when in members:
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def _roster(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("student_id,lms_id,name\n" + "".join(f"{s},{i},{s.upper()}\n" for s, i in rows))
    return path


def _canvas_zip(tmp: Path, nbs: dict[str, str]) -> Path:
    return _zip(tmp / "canvas-submissions.zip", [
        ("doejane_101_5001_01-tokenization.ipynb", nbs["blank"], OLD),       # first upload
        ("doejane_101_5002_01-tokenization-1.ipynb", nbs["full"], OLD),      # resubmission: wins
        ("roerichard_LATE_102_5003_01-tokenization.ipynb", nbs["partial"], NEW),
        ("strangerann_999_5004_01-tokenization.ipynb", nbs["full"], NEW),    # not in the roster
        ("doejane_101_5005_notes.txt", b"my notes", NEW),                     # not a notebook
        ("roerichard_102_5006_99-fourier.ipynb", nbs["blank"], NEW),          # a lab the course lacks
        ("readme.txt", b"downloaded from Canvas", NEW),                       # not Canvas's naming
    ])


def _course(tmp: Path) -> Path:
    return harness.make_course(tmp, [LAB])


def _lost_nothing(course: Path, zip_path: Path, report: lms.ImportReport) -> None:
    """Every file of the zip is placed or copied, byte for byte, to unplaced/ and in report.csv."""
    with zipfile.ZipFile(zip_path) as zf:
        members = {i.filename for i in zf.infolist() if not i.is_dir()}
        assert members == {p.member for p in report.placed} | {m for m, _ in report.unplaced}
        with open(course / "unplaced" / zip_path.stem / "report.csv") as f:
            rows = list(csv.DictReader(f))
        assert [(r["file"], r["reason"]) for r in rows] == report.unplaced
        for r in rows:
            assert (course / r["copied_to"]).read_bytes() == zf.read(r["file"])
        for p in report.placed:
            assert (course / "submitted" / p.student / p.lab / f"{p.lab}.ipynb").read_bytes() == zf.read(p.member)


def _reasons(report: lms.ImportReport) -> dict[str, str]:
    return dict(report.unplaced)


def test_canvas_zip_with_roster(tmp_path, notebooks, capsys):
    course = _course(tmp_path)
    zip_path = _canvas_zip(tmp_path, notebooks)
    roster = lms.read_roster(_roster(tmp_path / "roster.csv", [("jdoe", "101"), ("rroe", "102")]))
    earlier = course / "submitted" / "jdoe" / LAB / ".preflight"  # left by grading an earlier hand-in
    earlier.mkdir(parents=True)
    (earlier / f"{LAB}.ipynb").write_text("{}")
    report = lms.import_zip(course, zip_path, "canvas", roster=roster)
    assert not earlier.exists()
    with capsys.disabled():
        print("\nCanvas zip, with roster:\n" + report.describe())
    assert {(p.student, p.lab, p.member, p.late) for p in report.placed} == {
        ("jdoe", LAB, "doejane_101_5002_01-tokenization-1.ipynb", False),
        ("rroe", LAB, "roerichard_LATE_102_5003_01-tokenization.ipynb", True)}
    why = _reasons(report)
    assert "5002" in why["doejane_101_5001_01-tokenization.ipynb"] and "two files for jdoe" in why[
        "doejane_101_5001_01-tokenization.ipynb"]
    assert "matches no student in the roster" in why["strangerann_999_5004_01-tokenization.ipynb"]
    assert why["doejane_101_5005_notes.txt"] == "not a notebook (.ipynb)"
    assert "unknown lab '99-fourier'" in why["roerichard_102_5006_99-fourier.ipynb"]
    assert "not in Canvas's format" in why["readme.txt"]
    assert len(why) == 5
    _lost_nothing(course, zip_path, report)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["jdoe", "rroe"]


def test_canvas_zip_without_roster_uses_lms_ids(tmp_path, notebooks):
    course = _course(tmp_path)
    zip_path = _canvas_zip(tmp_path, notebooks)
    report = lms.import_zip(course, zip_path, "canvas")
    assert sorted(p.student for p in report.placed) == ["101", "102", "999"]
    _lost_nothing(course, zip_path, report)


def test_moodle_zip_folders_and_flat(tmp_path, notebooks, capsys):
    course = _course(tmp_path)
    zip_path = _zip(tmp_path / "moodle-lab01.zip", [
        ("Jane Doe_11_assignsubmission_file_/01-tokenization.ipynb", notebooks["blank"], OLD),
        ("Jane Doe_11_assignsubmission_file_/my lab (final).ipynb", notebooks["full"], NEW),  # later: wins
        ("Richard Roe_12_assignsubmission_file_01-tokenization.ipynb", notebooks["partial"], NEW),  # flat
        ("Richard Roe_12_assignsubmission_file_/screenshot.png", b"\x89PNG", NEW),
        ("Nobody Known_13_assignsubmission_file_/01-tokenization.ipynb", notebooks["full"], NEW),
        ("Jane Doe_11_onlinetext_/onlinetext.html", b"<p>hello</p>", NEW),
    ])
    roster = lms.read_roster(_roster(tmp_path / "roster.csv", [("jdoe", "11"), ("rroe", "12")]))
    report = lms.import_zip(course, zip_path, "moodle", lab=LAB, roster=roster)
    with capsys.disabled():
        print("\nMoodle zip, LAB=01-tokenization, with roster:\n" + report.describe())
    assert {(p.student, p.member) for p in report.placed} == {
        ("jdoe", "Jane Doe_11_assignsubmission_file_/my lab (final).ipynb"),
        ("rroe", "Richard Roe_12_assignsubmission_file_01-tokenization.ipynb")}
    why = _reasons(report)
    assert "two files for jdoe" in why["Jane Doe_11_assignsubmission_file_/01-tokenization.ipynb"]
    assert why["Richard Roe_12_assignsubmission_file_/screenshot.png"] == "not a notebook (.ipynb)"
    assert "LMS id 13 (Nobody Known) matches no student" in why[
        "Nobody Known_13_assignsubmission_file_/01-tokenization.ipynb"]
    assert "not in Moodle's format" in why["Jane Doe_11_onlinetext_/onlinetext.html"]
    _lost_nothing(course, zip_path, report)


def test_command_refuses_unknown_lab_lms_and_roster(tmp_path, notebooks, capsys):
    course = _course(tmp_path)
    zip_path = _canvas_zip(tmp_path, notebooks)
    base = ["import", "--root", str(course), "--zip", str(zip_path)]
    assert lms.main([*base, "--lms", "canvas", "--lab", "99-fourier"]) == 2
    assert "unknown lab '99-fourier': the course has 01-tokenization" in capsys.readouterr().err
    bad = tmp_path / "bad-roster.csv"
    bad.write_text("name,email\nA,a@x\n")
    assert lms.main([*base, "--lms", "canvas", "--roster", str(bad)]) == 2
    assert "needs the columns student_id and lms_id" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        lms.main([*base, "--lms", "blackboard"])
    assert not (course / "submitted").exists()


@pytest.mark.grading
def test_export_wide_grades_and_feedback(tmp_path, notebooks, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the grading engine changes directory
    course = _course(tmp_path)
    roster_csv = _roster(tmp_path / "roster.csv", [("jdoe", "101"), ("rroe", "102"), ("kwan", "103")])
    assert lms.main(["import", "--root", str(course), "--zip", str(_canvas_zip(tmp_path, notebooks)),
                     "--lms", "canvas", "--roster", str(roster_csv)]) == 0
    assert cli.main(["--root", str(course), "--lab", LAB]) == 0
    assert lms.main(["export", "--root", str(course), "--roster", str(roster_csv)]) == 0
    wide = (course / "lms" / "grades_wide.csv").read_text()
    long = (course / "grades.csv").read_text()
    feedback = sorted(p.name for p in (course / "lms" / "feedback").iterdir())
    with capsys.disabled():
        print(f"\ngrades.csv (long):\n{long}\nlms/grades_wide.csv:\n{wide}\nlms/feedback/: {feedback}")
    rows = list(csv.DictReader(wide.splitlines()))
    assert list(rows[0]) == ["student", "lms_id", LAB]
    by = {r["student"]: r for r in rows}
    # 8 autograded points of 10; the written answer (2 points) waits for a human
    assert (by["jdoe"]["lms_id"], float(by["jdoe"][LAB])) == ("101", 8.0)
    assert (by["rroe"]["lms_id"], float(by["rroe"][LAB])) == ("102", 5.0)
    assert (by["kwan"]["lms_id"], by["kwan"][LAB]) == ("103", "")  # on the roster, nothing handed in
    assert feedback == ["doejane_101_5002_01-tokenization-feedback.html",
                        "roerichard_LATE_102_5003_01-tokenization-feedback.html"]
    for name, student in zip(feedback, ("jdoe", "rroe")):
        html = (course / "lms" / "feedback" / name).read_text()
        assert html == (course / "feedback" / student / LAB / f"{LAB}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html
