"""The adversarial batch through `make grade`'s engine: every case gets its expected outcome."""
import csv
import os

import nbformat
import pytest

import harness
from seqlab.grading import cli as grade

import submissions

CASES = submissions.build()
LAB = submissions.LAB
CELL_TIMEOUT = 60  # seconds: the infinite loop costs this once; importing TensorFlow must fit


def write(folder, sub):
    folder.mkdir(parents=True)
    if isinstance(sub, nbformat.NotebookNode):
        nbformat.write(sub, folder / f"{LAB}.ipynb")
        return
    files = dict([sub]) if isinstance(sub, tuple) else sub  # {file name: text}
    for name, text in files.items():
        (folder / name).write_text(text)


# Graded once per run: conftest.py keeps this file's tests on one pytest-xdist worker (and checks
# that the grouping took: without it each worker graded the whole batch, ~6 minutes twice).
@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adversarial")
    course = harness.make_course(tmp, [LAB])
    for name, (sub, _, _) in CASES.items():
        write(course / "submitted" / name / LAB, sub)
    cwd = os.getcwd()
    os.chdir(tmp)  # as `make grade` does: nothing of the course around the grading process
    try:
        code = grade.main(["--root", str(course), "--cell-timeout", str(CELL_TIMEOUT), "--workers", "0"])
    finally:
        os.chdir(cwd)
    rows = {r["student"]: r for r in csv.DictReader(open(course / "grades.csv"))}
    scores = harness.scores(course, LAB, list(CASES))
    return course, code, rows, scores


def test_the_batch_completes_and_reports_every_student(batch):
    course, code, rows, _ = batch
    assert code == 0
    assert set(rows) == set(CASES), "every submission has a row in grades.csv"


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(batch, name):
    _, _, rows, scores = batch
    _, expected, words = CASES[name]
    row = rows[name]
    for word in words:
        assert word in row["status"], f"{name}: status {row['status']!r} should mention {word!r}"
    if expected is None:
        assert row["score"] == "", f"{name} must not get a score"
        return
    assert "FAILED" not in row["status"], row["status"]
    assert scores[name] == expected, f"{name}: {scores[name]} != {expected}"


def test_feedback_never_shows_hidden_tests(batch):
    course = batch[0]
    secret = harness.hidden_test_lines(LAB)
    assert secret
    files = sorted((course / "feedback").rglob("*.html"))
    graded = [n for n, (_, exp, _) in CASES.items() if exp is not None]
    assert len(files) == len(graded), "one feedback file per graded student"
    for path in files:
        text = harness.html_text(path.read_text())
        leaked = [s for s in secret if s in text]
        assert not leaked, f"{path.relative_to(course)} shows hidden tests: {leaked[:3]}"


def test_a_python_warning_from_the_students_code_reaches_their_feedback(batch):
    # Full marks (test_case above): the warning went to stdout, TensorFlow's retracing notice on
    # stderr was dropped as noise. And the student reads the warning their code raised.
    course = batch[0]
    page = course / "feedback" / "keras-warning-on-stderr" / LAB / f"{LAB}.html"
    text = harness.html_text(page.read_text())
    # The page also shows the student's code, which holds both texts once: look for the outputs.
    assert "UserWarning: `encode` is slow; use keras.layers.TextVectorization" in text, \
        "the warning, as Python prints it, is in an output of the feedback"
    assert text.count("calls triggered tf.function retracing") == 1, \
        "TensorFlow's runtime notice is noise, not feedback: only the code that printed it shows it"
