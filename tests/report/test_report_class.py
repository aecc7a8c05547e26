"""The class report of a Lab 01 class graded for real (see class_lab01.py): it names the copy pair,
puts every mutant's tests among the most failed with the mutant's answer as a wrong-answer group,
lists the submission that timed out, changes nothing in the gradebook, and pseudonymises."""
import hashlib
import re

import pandas as pd
import pytest

import harness
from class_lab01 import LAB, WALL_S, grade
from seqlab.grading import report

pytestmark = pytest.mark.grading


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade(tmp_path_factory.mktemp("class"))


@pytest.fixture(scope="module")
def written(graded):
    """The report, written once; the gradebook's bytes before and after."""
    db = graded.course / "gradebook.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns
    page = report.write_report(graded.course)
    after = hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns
    csv = {p.stem: pd.read_csv(p, keep_default_na=False) for p in (page.parent / "csv").glob("*.csv")}
    return page, csv, before, after


def test_the_copy_pair_is_named_and_no_one_else(graded, written):
    page, csv, *_ = written
    pairs = csv["similar_pairs"]
    # honest-1's encode is mutants-1's one-line mistake renamed: too short to be worth a look
    assert [(r.exercise, {r.a, r.b}) for r in pairs.itertuples()] == [("pad_or_truncate", set(graded.copy_pair))]
    row = pairs.iloc[0]
    assert row.similarity >= 0.9 and row.typical <= 0.3
    text = harness.html_text(page.read_text())
    assert "worth a look" in text and "not a verdict" in text
    assert "copy-a and copy-b share" in text


def test_each_mutant_is_among_the_most_failed_with_its_wrong_answer(graded, written):
    _, csv, *_ = written
    wrong = csv["wrong_answers"]
    tests = csv["tests"]
    assert graded.packs, "Lab 01 has mutants"
    for student, pack in graded.packs.items():
        for m in pack:
            for test in m["fails"]:
                assert test in set(wrong["test"]), f"{m['name']}: {test} not among the most failed"
                groups = wrong[(wrong["test"] == test)]
                mine = groups[groups["students"].str.split().map(lambda s: student in s)]
                assert len(mine) == 1, (m["name"], test)
                assert report.normalise(mine.iloc[0]["example"]) == report.normalise(m["source"])
                assert not mine.iloc[0]["unchanged_starter"]
                assert tests.set_index("test").loc[test, "failed"] >= 2  # the mutant and the blank release
    # the blank release is its own group: the unchanged starter code, for every test
    blank = wrong[wrong["students"].str.split().map(lambda s: "blank" in s)]
    assert blank["unchanged_starter"].all() and set(blank["test"]) == set(harness.test_points(LAB)) & set(wrong["test"])
    # honest-1 made the encode mutant's mistake in other words: one group of two, for both tests
    for test in ("test_encode_visible", "test_encode_hidden"):
        group = wrong[(wrong["test"] == test) & wrong["students"].str.contains("honest-1")]
        assert len(group) == 1 and group.iloc[0]["size"] == 2, group
    # the reference, the copiers and honest-2 fail nothing
    for s in ("solutions", "copy-a", "copy-b", "honest-2"):
        assert not wrong["students"].str.split().map(lambda v: s in v).any(), s


def test_the_time_out_is_listed_with_its_reason(graded, written):
    page, csv, *_ = written
    incidents = csv["incidents"]
    row = incidents[incidents["student"] == graded.timed_out]
    assert list(row["what"]) == ["timed out"], incidents
    assert f"({WALL_S} s)" in row.iloc[0]["reason"]
    assert graded.timed_out not in set(csv["scores"]["student"]), "a failed submission has no score"
    assert "loops-forever" in harness.html_text(page.read_text())


def test_tables_score_histogram_and_manual_grades(graded, written):
    page, csv, *_ = written
    tests = csv["tests"].set_index("test")
    assert tests.loc["test_build_vocab_hidden", "visibility"] == "hidden"
    assert tests.loc["test_build_vocab_visible", "visibility"] == "visible"
    assert (tests["submissions"] == 8).all()  # everyone graded, the time-out left out
    scores = csv["scores"].set_index("student")
    assert scores.loc["solutions", "score"] == sum(harness.test_points(LAB).values())
    assert scores.loc["blank", "score"] == 0
    # the written answer "discussion" waits for a hand grade wherever grades.csv counts one
    manual = csv["awaiting_manual"]
    status = pd.read_csv(graded.course / "grades.csv", keep_default_na=False)
    waiting = set(status.loc[status["needs_manual"].astype(str).isin(["1", "1.0"]), "student"])
    assert waiting and "blank" not in waiting  # nbgrader scores an untouched written answer 0 itself
    assert set(manual["cell"]) == {"discussion"} and set(manual["student"]) == waiting
    html = page.read_text()
    assert html.count("data:image/png;base64,") == 1
    assert not re.search(r"""(src|href)=['"]?(https?:|//)""", html), "the report must open offline"


def test_the_report_never_writes_to_the_gradebook(written):
    _, _, before, after = written
    assert before == after


def test_anonymous_report_has_stable_pseudonyms_and_no_real_id(graded, written, tmp_path):
    students = set(written[1]["scores"]["student"]) | {graded.timed_out}
    first = report.write_report(graded.course, anon=True)
    again = report.write_report(graded.course, anon=True, out=tmp_path / "again")
    assert first.parent.name == "report-anon"
    for page in (first, again):
        files = [page] + sorted((page.parent / "csv").glob("*.csv"))
        for f in files:
            text = f.read_text()
            for s in students:
                assert not re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text), f"{s} in {f.name}"
    a = pd.read_csv(first.parent / "csv" / "scores.csv")
    b = pd.read_csv(again.parent / "csv" / "scores.csv")
    assert list(a["student"]) == list(b["student"]), "pseudonyms must be stable across runs"
    assert a["student"].is_unique and a["student"].str.fullmatch(r"anon-[a-z2-7]{8}").all()
    pairs = pd.read_csv(first.parent / "csv" / "similar_pairs.csv")
    assert len(pairs) == 1 and set(pairs.iloc[0][["a", "b"]]) <= set(a["student"])
    assert (graded.course / report.SECRET_FILE).stat().st_mode & 0o077 == 0
