"""The report's parts on their own, without grading: the wrong-answer normaliser, the similarity
screen, pseudonyms, a timed-out cell in an autograded notebook, and the refusal to create a gradebook."""
import json

import pytest

from class_lab01 import COPIED
from seqlab.grading import report, similarity

ANSWER = '''def encode(text, vocab):
    ids = []
    for token in tokenize(text):
        ids.append(vocab.get(token, 1))
    return ids
'''
SAME_RENAMED_REFORMATTED = '''def encode(text,vocab):
    """My encoder."""
    out=[]   # the result
    for w in tokenize(text):

        out.append( vocab.get(w, 1) )  # unknown -> 1
    return out
'''
DIFFERENT_LOGIC = [
    # another method of the dict: a different answer, even with the same names
    ANSWER.replace("vocab.get(token, 1)", "vocab.setdefault(token, 1)"),
    # another constant
    ANSWER.replace("vocab.get(token, 1)", "vocab.get(token, 0)"),
    # the function's own name is what the tests call: not a name to set aside
    ANSWER.replace("def encode", "def encode_text"),
    # a module-level helper the answer reads but does not bind
    ANSWER.replace("tokenize(text)", "text.split()"),
]


def test_whitespace_comments_docstrings_and_bound_names_make_one_group():
    assert report.normalise(ANSWER) == report.normalise(SAME_RENAMED_REFORMATTED)


@pytest.mark.parametrize("other", DIFFERENT_LOGIC)
def test_different_logic_stays_a_different_group(other):
    assert report.normalise(ANSWER) != report.normalise(other)


def test_code_that_does_not_parse_is_compared_without_comments_and_layout():
    broken = "def f(x):\n    return x +  # oops\n"
    assert report.normalise(broken) == report.normalise("def f(x):\n  return x +\n")
    assert report.normalise(broken) != report.normalise("def f(x):\n    return x -\n")


LONG = COPIED  # a pad_or_truncate of some length: the copied answer of the graded class


def _variant(i: int) -> str:
    """An honest answer of its own: the same task written another way, with numbers of its own."""
    return (f"def pad_or_truncate(seqs, maxlen, padding='pre', truncating='pre'):\n"
            f"    rows = [list(s)[-maxlen:] if truncating == 'pre' else list(s)[:maxlen] for s in seqs]\n"
            f"    width_{i} = max([len(r) for r in rows] + [{i}])\n"
            f"    table = [[0] * (maxlen - len(r)) + r if padding == 'pre' else r + [0] * (maxlen - len(r)) "
            f"for r in rows]\n"
            f"    assert width_{i} >= {i} * {i + 3} - {i * 7}, 'check {i}'\n"
            f"    return np.array(table, dtype=np.int32).reshape(len(seqs), maxlen)\n")


def test_a_renamed_copy_is_worth_a_look_and_the_reference_is_boilerplate():
    renamed = (LONG.replace("out", "result").replace("row", "r").replace("seq", "s")
               .replace("maxlen", "n").replace("\n    for", "\n\n    # loop\n    for"))
    reference = _variant(99)
    answers = {f"st{i}": _variant(i) for i in range(6)}
    answers.update({"a": LONG, "b": renamed, "ref-1": reference, "ref-2": reference})
    pairs = similarity.find_pairs(answers, ["def pad_or_truncate(seqs, maxlen):\n    raise NotImplementedError()\n",
                                            reference])
    assert [(p.a, p.b) for p in pairs] == [("a", "b")]
    p = pairs[0]
    assert p.similarity == 1.0 and p.alike == 2 and p.shared >= similarity.MIN_SHARED
    assert p.overlap_a > 0.9 and "<mark>" in p.html_a and "&#34;pre&#34;" in p.html_a


def test_an_answer_many_students_share_is_a_common_answer_not_a_pair():
    answers = {f"st{i}": _variant(i) for i in range(8)}
    answers.update({f"same{i}": LONG.replace("out", f"out{i}") for i in range(3)})
    trio = {("same0", "same1"), ("same0", "same2"), ("same1", "same2")}
    assert {(p.a, p.b) for p in similarity.find_pairs(answers, [])} == trio  # 3 <= MAX_ALIKE
    assert similarity.find_pairs(answers, [], max_alike=2) == []
    # everybody's answer: alike to the whole class, never a pair
    assert similarity.find_pairs({f"st{i}": LONG.replace("out", f"out{i}") for i in range(8)}, [],
                                 max_alike=100) == []


def test_pseudonyms_are_stable_distinct_keyed_and_not_the_id(tmp_path):
    secret = report.course_secret(tmp_path)
    assert report.course_secret(tmp_path) == secret, "the secret is kept, not drawn again"
    assert (tmp_path / report.SECRET_FILE).stat().st_mode & 0o077 == 0
    ids = [f"student{i:03d}" for i in range(500)]
    names = [report.pseudonym(s, secret) for s in ids]
    assert len(set(names)) == len(ids)
    assert names == [report.pseudonym(s, secret) for s in ids]
    assert all(s not in n and s[-3:] not in n for s, n in zip(ids, names))
    assert report.pseudonym("student001", b"another course") != report.pseudonym("student001", secret)


def test_a_timed_out_cell_in_an_autograded_notebook_is_an_incident(tmp_path):
    nb = {"cells": [
        # what nbgrader leaves in a cell that ran past Execute.timeout (seen on a real grading run)
        {"cell_type": "code", "source": "def f():\n    while True: pass\nf()", "outputs": [
            {"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": []},
            {"output_type": "error", "ename": "CellTimeoutError", "evalue": "", "traceback": []}],
         "metadata": {"nbgrader": {"grade_id": "answer", "solution": True}}},
        {"cell_type": "code", "source": "assert f() == 1", "outputs": [
            {"output_type": "error", "ename": "NameError", "evalue": "name 'f' is not defined", "traceback": []}],
         "metadata": {"nbgrader": {"grade_id": "test_f", "grade": True, "points": 1}}}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    folder = tmp_path / "autograded" / "ann" / "lab"
    folder.mkdir(parents=True)
    (folder / "lab.ipynb").write_text(json.dumps(nb))
    handed = report.read_autograded(tmp_path, "lab", "ann")
    assert handed.timeouts == ["answer"] and handed.errors == {"test_f": "NameError: name 'f' is not defined"}
    import pandas as pd
    status = pd.DataFrame([{"student": "ann", "lab": "lab", "status": "graded; repaired: cell 3 stopped the kernel; "
                            "skipped and re-graded; retried: the grading kernel died once"}])
    table = report.incidents(status, {"ann": handed})
    assert list(table["what"]) == ["cell timed out", "kernel killed", "retried"]


def test_no_gradebook_is_refused_and_none_is_created(tmp_path):
    import shutil

    import harness

    shutil.copy(harness.ROOT / "nbgrader_config.py", tmp_path)
    with pytest.raises(report.ReportError, match="grade first"):
        report.write_report(tmp_path)
    assert not (tmp_path / "gradebook.db").exists() and not (tmp_path / "report").exists()


def test_a_hostile_answer_cannot_put_markup_into_the_report(tmp_path):
    import pandas as pd

    evil = LONG.replace("return out", "return out  # </pre><script>alert('x')</script><img src=x onerror=alert(1)>")
    pairs = similarity.find_pairs({"a": evil, "<b onmouseover=alert(2)>": evil, **{f"st{i}": _variant(i) for i in range(5)}},
                                  [])
    assert len(pairs) == 1
    empty = pd.DataFrame(columns=["student", "what", "reason"])
    lab = report.LabReport(
        lab="lab", scores=pd.DataFrame({"student": ["a"], "score": [1.0], "max_score": [2.0]}),
        exercises=pd.DataFrame(columns=["exercise"]),
        tests=pd.DataFrame([{"test": "t", "exercise": "e", "visibility": "hidden", "points": 1, "submissions": 2,
                             "passed": 0, "failed": 2, "pass_rate": 0.0}]),
        wrong=pd.DataFrame([{"test": "t", "exercise": "e", "group": 1, "size": 2, "students": "a <i>b</i>",
                             "unchanged_starter": False, "error": "AssertionError: <script>alert(3)</script>",
                             "example_student": "a", "example": evil}]),
        incidents=empty, manual=pd.DataFrame(columns=["student", "cell", "max_score"]),
        pairs=pd.DataFrame([{"exercise": "e", "a": pairs[0].a, "b": pairs[0].b}]),
        views=[("e", pairs[0])], exercises_checked=1)
    page = report.render(tmp_path, [lab], report.combine([lab]), anon=False, seconds=0.0)
    for bad in ("<script", "<img src=x", "<b onmouseover", "<i>b</i>"):
        assert bad not in page, bad
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page  # the error, shown as text
    assert page.count("&lt;/pre&gt;&lt;script&gt;alert(") >= 3  # the example and both sides of the pair
