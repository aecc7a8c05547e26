"""Grading the same batch twice gives identical grades.csv, and re-grading keeps manual grades."""
import csv
import io

import nbformat

import harness
from seqlab.grading import cli as grade, course as course_dir

import submissions

LAB = submissions.LAB


def test_regrading_is_identical_and_keeps_manual_grades(tmp_path):
    from nbgrader.api import Gradebook

    course = harness.make_course(tmp_path, [LAB])
    batch = {
        "solutions": submissions.solved(),
        "wrong-encode": submissions.answer(submissions.solved(), "encode", submissions.WRONG_ENCODE),
    }
    stripped = submissions.solved()
    for c in stripped.cells:
        c.metadata = {}
    batch["stripped"] = stripped
    for student, nb in batch.items():
        folder = course / "submitted" / student / LAB
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{LAB}.ipynb")

    assert grade.main(["--root", str(course)]) == 0
    first = (course / "grades.csv").read_text()

    db = course_dir.api_for(course).coursedir.db_url
    with Gradebook(db) as gb:  # an instructor grades the written answer by hand
        g = gb.find_grade("discussion", LAB, LAB, "wrong-encode")
        g.manual_score = 1.5
        gb.db.commit()

    assert grade.main(["--root", str(course)]) == 0
    second = (course / "grades.csv").read_text()
    rows1 = {r["student"]: r for r in csv.DictReader(io.StringIO(first))}
    rows2 = {r["student"]: r for r in csv.DictReader(io.StringIO(second))}
    assert float(rows2["wrong-encode"]["score"]) == float(rows1["wrong-encode"]["score"]) + 1.5, \
        "re-autograding must keep the manual grade"
    rows2["wrong-encode"]["score"] = rows1["wrong-encode"]["score"]
    assert rows1 == rows2, "grading the same batch twice must give the same grades.csv"
    assert "repaired" in rows1["stripped"]["status"] and rows1["stripped"]["score"] == rows1["solutions"]["score"]

