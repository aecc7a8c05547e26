"""``make report``: what the class got wrong, as one offline HTML file and a CSV per table.

    python -m seqlab.grading.report [--root DIR] [--lab LAB ...] [--anon] [--out DIR]

It reads what grading wrote and changes none of it: the gradebook through nbgrader's API
(``Gradebook(api.coursedir.db_url)``, so SQLite or PostgreSQL), ``grades.csv`` (each submission's
status: ``FAILED: ...``, ``repaired: ...``, ``retried: ...``), the autograded notebooks
(``autograded/<student>/<lab>/<lab>.ipynb``: the answers and the test cells' errors), and the lab's
``release/`` (starter code) and ``source/`` (reference solution, which tests are hidden). Per lab:

- the score distribution (histogram) and, per exercise, the mean, median and share of full marks;
- per test cell: its pass rate, visible or hidden, and for the tests failed most the distinct wrong
  answers behind the failures, grouped (whitespace, comments and the names an answer binds do not
  count: see :func:`normalise`), each group's size and one example;
- the submissions that failed, timed out, killed their kernel or were repaired, with the reason;
- written answers still waiting for a manual grade;
- pairs of answers worth a look (:mod:`.similarity`), side by side.

``report/report.html`` and ``report/csv/*.csv`` are written at the course root (``--anon``:
``report-anon/``, every student id replaced by a keyed pseudonym, :func:`pseudonym`).
"""
from __future__ import annotations

import argparse
import ast
import base64
import builtins
import hashlib
import hmac
import html
import io
import json
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd

from . import similarity
from .course import labs_in, strip_solution_markers

SECRET_FILE = ".report-secret"
MOST_FAILED = 8           # tests shown with their wrong answers, per lab
PAIRS_SHOWN = 12          # side-by-side views per exercise (the CSV has every pair)
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
_TIMEOUT_ERRORS = {"CellTimeoutError", "TimeoutError"}


class ReportError(RuntimeError):
    """Nothing to report on (no gradebook yet)."""


# --------------------------------------------------------------------------------------- entry point

def write_report(root: Path, labs: Optional[list[str]] = None, anon: bool = False,
                 out: Optional[Path] = None) -> Path:
    """Write the class report of ``root`` and return the HTML file's path.

    ``labs``: only these (default: every lab the gradebook or ``source/`` knows). ``anon``: stable
    pseudonyms instead of student ids (secret in ``<root>/.report-secret``, created once)."""
    root = Path(root).resolve()
    started = time.perf_counter()
    grades = read_gradebook(root)
    status = read_status(root)
    known = sorted(set(grades["lab"]) | set(labs_in(root)))
    reports = [lab_report(root, lab, grades[grades["lab"] == lab], status[status["lab"] == lab])
               for lab in (labs or known)]
    names = Pseudonyms(root, set(grades["student"]) | set(status["student"])) if anon else None
    folder = Path(out) if out else root / ("report-anon" if anon else "report")
    (folder / "csv").mkdir(parents=True, exist_ok=True)
    tables = combine(reports)
    if names:
        tables = {k: names.table(v) for k, v in tables.items()}
        reports = [names.lab(r) for r in reports]
    for name, table in tables.items():
        table.to_csv(folder / "csv" / f"{name}.csv", index=False)
    page = folder / "report.html"
    page.write_text(render(root, reports, tables, anon, time.perf_counter() - started), encoding="utf-8")
    return page


# ------------------------------------------------------------------------------------------ reading

def read_gradebook(root: Path) -> pd.DataFrame:
    """One row per (student, lab, graded cell): score, max, type and whether a human must grade it.

    Read with nbgrader's own ORM in one query; the session is rolled back, never committed."""
    from nbgrader.api import (Assignment, Grade, GradeCell, Gradebook, Notebook, SubmittedAssignment,
                              SubmittedNotebook)
    from sqlalchemy import create_engine, inspect, select

    from .course import api_for

    if not (root / "nbgrader_config.py").exists():
        raise ReportError(f"{root} is not a course root (no nbgrader_config.py)")
    url = api_for(root).coursedir.db_url
    engine = create_engine(url)
    try:
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists() \
                or "grade" not in inspect(engine).get_table_names():
            raise ReportError(f"no gradebook at {url}: grade first (make grade)")
    finally:
        engine.dispose()
    query = (select(SubmittedAssignment.student_id, Assignment.name, Notebook.name, GradeCell.name,
                    GradeCell.cell_type, GradeCell.max_score, Grade.score, Grade.needs_manual_grade)
             .select_from(Grade)
             .join(GradeCell, Grade.cell_id == GradeCell.id)
             .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
             .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
             .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
             .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id))
    with Gradebook(url) as gb:
        try:
            rows = gb.db.execute(query).all()
        finally:
            gb.db.rollback()
    return pd.DataFrame(rows, columns=["student", "lab", "notebook", "cell", "cell_type", "max_score",
                                       "score", "needs_manual"])


def read_status(root: Path) -> pd.DataFrame:
    """``grades.csv`` (student, lab, status, ...): empty when grading has not written it."""
    path = root / "grades.csv"
    if not path.exists():
        return pd.DataFrame(columns=["student", "lab", "status"])
    return pd.read_csv(path, dtype={"student": str, "lab": str, "status": str}, keep_default_na=False)


@dataclass
class Cell:
    """A graded or answer cell of a lab, as the release and the source notebook describe it."""
    grade_id: str
    kind: str                 # "answer" (code to write), "test" (autograded), "written" (graded by hand)
    points: float = 0.0
    hidden: str = ""          # tests: "visible", "hidden" or "visible + hidden"
    exercise: str = ""        # tests: the answer cell above them
    starter: str = ""         # the release's text of the cell
    reference: str = ""       # the reference solution, without nbgrader's markers


def lab_cells(root: Path, lab: str) -> list[Cell]:
    """The lab's answer, test and written-answer cells, in notebook order.

    A test cell belongs to the exercise of the nearest answer cell above it; it is hidden when its
    source holds a ``BEGIN HIDDEN TESTS`` block (``visible + hidden`` when code, not only comments
    and print lines, stands outside it)."""
    release = _cells(root / "release" / lab / f"{lab}.ipynb")
    source = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c
              for c in _cells(root / "source" / lab / f"{lab}.ipynb")}
    out, exercise = [], ""
    for c in release or list(source.values()):
        meta = c.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if not gid or not (meta.get("solution") or meta.get("grade")):
            continue
        text = _text(c)
        src = _text(source.get(gid, c))
        if meta.get("solution") and c.get("cell_type") == "code":
            exercise = gid
            out.append(Cell(gid, "answer", starter=text, reference=strip_solution_markers(src)))
        elif meta.get("solution"):
            out.append(Cell(gid, "written", float(meta.get("points") or 0), starter=text,
                            reference=strip_solution_markers(src)))
        else:
            # Comments and print lines (the "N more points from hidden tests" line) are not tests.
            outside = [l for l in _HIDDEN.sub("", src).splitlines()
                       if l.strip() and not l.lstrip().startswith(("#", "print("))]
            visibility = ("visible" if not _HIDDEN.search(src) else
                          "hidden" if not outside else "visible + hidden")
            out.append(Cell(gid, "test", float(meta.get("points") or 0), visibility, exercise or gid))
    return out


def _cells(path: Path) -> list[dict]:
    """A notebook's cells, read as plain JSON (nbformat's validation costs more than the report)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("cells", [])
    except (OSError, ValueError):
        return []


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


@dataclass
class Handed:
    """What one student's autograded notebook holds."""
    answers: dict[str, str] = field(default_factory=dict)   # answer cell -> code
    errors: dict[str, str] = field(default_factory=dict)    # test cell -> "Name: message"
    timeouts: list[str] = field(default_factory=list)       # cells that ran past the cell limit


def read_autograded(root: Path, lab: str, student: str) -> Handed:
    """Answers, test errors and timed-out cells of ``autograded/<student>/<lab>/<lab>.ipynb``."""
    handed = Handed()
    for i, c in enumerate(_cells(root / "autograded" / student / lab / f"{lab}.ipynb")):
        gid = c.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {i + 1}"
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and c.get("cell_type") == "code":
            handed.answers[gid] = _text(c)
        for o in c.get("outputs", []):
            if o.get("output_type") != "error":
                continue
            if o.get("ename") in _TIMEOUT_ERRORS:
                handed.timeouts.append(gid)
            if meta.get("grade") and gid not in handed.errors:
                handed.errors[gid] = f"{o.get('ename', '')}: {str(o.get('evalue', ''))[:160]}".strip(": ")
    return handed


# ------------------------------------------------------------------------------- normalised answers

def normalise(code: str) -> str:
    """``code`` with whitespace, comments, docstrings and the names it binds made irrelevant.

    Names the answer binds (arguments, local and module variables, loop targets) become ``_1``,
    ``_2``, ... in order of appearance; the names it defines for the tests (functions, classes)
    and everything it only reads (``np``, ``tokenize``, attributes, builtins) stay, so different
    logic stays different. Code that does not parse is compared with comments and whitespace
    dropped."""
    lines = [l for l in code.splitlines() if not l.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return _tokens_only(code)
    api = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    bound -= api | set(dir(builtins))
    _Rename(bound).visit(tree)
    return ast.unparse(tree)


class _Rename(ast.NodeTransformer):
    def __init__(self, bound: set[str]):
        self.bound, self.names = bound, {}

    def _name(self, name: str) -> str:
        if name not in self.bound:
            return name
        return self.names.setdefault(name, f"_{len(self.names) + 1}")

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._name(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self._name(node.arg)
        node.annotation = None
        return node

    def _body(self, node):
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # a docstring is a comment
        self.generic_visit(node)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Module = _body


def _tokens_only(code: str) -> str:
    import tokenize

    try:
        toks = [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                                  tokenize.ENDMARKER)]
        return " ".join(t if t.strip() else ";" for t in toks)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return " ".join(re.sub(r"#.*", "", code).split())


# --------------------------------------------------------------------------------------- one lab

@dataclass
class LabReport:
    lab: str
    scores: pd.DataFrame          # student, score, max_score
    exercises: pd.DataFrame       # exercise, kind, points, submissions, mean, median, full_share
    tests: pd.DataFrame           # test, exercise, visibility, points, submissions, passed, pass_rate
    wrong: pd.DataFrame           # test, group, size, students, unchanged_starter, error, example
    incidents: pd.DataFrame       # student, what, reason
    manual: pd.DataFrame          # student, cell, max_score
    pairs: pd.DataFrame           # exercise, a, b, similarity, typical, shared, alike, overlap_a, overlap_b
    views: list[tuple[str, similarity.Pair]] = field(default_factory=list)  # (exercise, pair) shown
    exercises_checked: int = 0


def lab_report(root: Path, lab: str, grades: pd.DataFrame, status: pd.DataFrame) -> LabReport:
    """Every table of one lab."""
    cells = lab_cells(root, lab)
    failed = set(status.loc[status["status"].str.startswith("FAILED"), "student"])
    graded = grades[~grades["student"].isin(failed)]
    students = sorted(set(graded["student"]))
    handed = {s: read_autograded(root, lab, s) for s in students}

    scores = (graded.groupby("student", as_index=False)[["score", "max_score"]].sum()
              .round(2).sort_values("student", ignore_index=True))
    tests = test_table(cells, graded)
    return LabReport(lab, scores, exercise_table(cells, graded), tests,
                     wrong_answers(cells, graded, tests, handed), incidents(status, handed),
                     graded.loc[graded["needs_manual"].astype(bool), ["student", "cell", "max_score"]]
                     .sort_values(["cell", "student"], ignore_index=True),
                     *similar(cells, handed))


def _per_cell(graded: pd.DataFrame) -> pd.DataFrame:
    g = graded.assign(full=graded["score"] >= graded["max_score"] - 1e-9)
    return g.groupby("cell").agg(submissions=("student", "nunique"), passed=("full", "sum"),
                                 mean=("score", "mean"), median=("score", "median"))


def test_table(cells: list[Cell], graded: pd.DataFrame) -> pd.DataFrame:
    """Per autograded test cell: pass rate (full marks), visible or hidden, sorted most failed first."""
    per = _per_cell(graded)
    rows = []
    for c in cells:
        if c.kind == "test" and c.grade_id in per.index:
            p = per.loc[c.grade_id]
            rows.append({"test": c.grade_id, "exercise": c.exercise, "visibility": c.hidden,
                         "points": c.points, "submissions": int(p["submissions"]),
                         "passed": int(p["passed"]), "failed": int(p["submissions"] - p["passed"]),
                         "pass_rate": round(float(p["passed"] / p["submissions"]), 3)})
    table = pd.DataFrame(rows, columns=["test", "exercise", "visibility", "points", "submissions", "passed",
                                        "failed", "pass_rate"])
    return table.sort_values(["failed", "test"], ascending=[False, True], ignore_index=True)


def exercise_table(cells: list[Cell], graded: pd.DataFrame) -> pd.DataFrame:
    """Per exercise (an answer cell and its tests; or a written answer): mean, median, full marks."""
    parts = {c.grade_id: c.exercise for c in cells if c.kind == "test"}
    parts.update({c.grade_id: c.grade_id for c in cells if c.kind == "written"})
    kinds = {c.grade_id: ("written" if c.kind == "written" else "code") for c in cells if c.kind != "test"}
    g = graded[graded["cell"].isin(parts)].assign(exercise=lambda d: d["cell"].map(parts))
    per = g.groupby(["exercise", "student"], as_index=False)[["score", "max_score"]].sum()
    rows = []
    for exercise in dict.fromkeys(parts.values()):
        e = per[per["exercise"] == exercise]
        if e.empty:
            continue
        rows.append({"exercise": exercise, "kind": kinds.get(exercise, "code"),
                     "points": float(e["max_score"].max()), "submissions": len(e),
                     "mean": round(float(e["score"].mean()), 2), "median": round(float(e["score"].median()), 2),
                     "full_share": round(float((e["score"] >= e["max_score"] - 1e-9).mean()), 3)})
    return pd.DataFrame(rows, columns=["exercise", "kind", "points", "submissions", "mean", "median", "full_share"])


def wrong_answers(cells: list[Cell], graded: pd.DataFrame, tests: pd.DataFrame,
                  handed: dict[str, Handed]) -> pd.DataFrame:
    """For the tests failed most: the failing students' answers to that exercise, grouped."""
    by_id = {c.grade_id: c for c in cells}
    rows = []
    for t in tests[tests["failed"] > 0].head(MOST_FAILED).itertuples():
        losers = graded[(graded["cell"] == t.test) & (graded["score"] < graded["max_score"] - 1e-9)]["student"]
        answer = by_id.get(t.exercise)
        starter = normalise(answer.starter) if answer else None
        groups: dict[str, list[str]] = {}
        for s in sorted(set(losers)):
            code = handed.get(s, Handed()).answers.get(t.exercise, "")
            groups.setdefault(normalise(code), []).append(s)
        ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
        for n, (key, who) in enumerate(ranked, start=1):
            example = who[0]
            rows.append({"test": t.test, "exercise": t.exercise, "group": n, "size": len(who),
                         "students": " ".join(who), "unchanged_starter": key == starter,
                         "error": handed.get(example, Handed()).errors.get(t.test, ""),
                         "example_student": example,
                         "example": handed.get(example, Handed()).answers.get(t.exercise, "")})
    return pd.DataFrame(rows, columns=["test", "exercise", "group", "size", "students", "unchanged_starter",
                                       "error", "example_student", "example"])


def incidents(status: pd.DataFrame, handed: dict[str, Handed]) -> pd.DataFrame:
    """Failed, timed-out, killed, retried and repaired submissions, from ``grades.csv`` and the
    autograded notebooks (a cell that ran past its limit leaves a ``CellTimeoutError``)."""
    rows = []
    for r in status.itertuples():
        first, *notes = [p.strip() for p in str(r.status).split("; ")]
        if first.startswith("FAILED"):
            reason = first.partition(": ")[2] or "failed"
            what = ("timed out" if re.search(r"time limit|timed? ?out", reason, re.I) else
                    "kernel died" if re.search(r"kernel died|stopped the (grading )?kernel", reason, re.I)
                    else "failed")
            rows.append({"student": r.student, "what": what, "reason": reason})
        for note in notes:
            kind, _, reason = note.partition(": ")
            if "stopped the kernel" in reason:
                kind = "kernel killed"
            if kind in ("repaired", "retried", "warning", "kernel killed"):
                rows.append({"student": r.student, "what": kind, "reason": reason})
    for student, h in sorted(handed.items()):
        for cell in h.timeouts:
            rows.append({"student": student, "what": "cell timed out",
                         "reason": f"{cell} ran past the per-cell time limit and was interrupted"})
    order = {"timed out": 0, "cell timed out": 1, "kernel died": 2, "kernel killed": 3, "failed": 4,
             "retried": 5, "repaired": 6, "warning": 7}
    table = pd.DataFrame(rows, columns=["student", "what", "reason"])
    return table.sort_values(["what", "student"], key=lambda s: s.map(order) if s.name == "what" else s,
                             ignore_index=True)


def similar(cells: list[Cell], handed: dict[str, Handed]) -> tuple[pd.DataFrame, list, int]:
    """Pairs worth a look per code exercise; the starter code and reference solution are boilerplate."""
    rows, views, checked = [], [], 0
    for c in cells:
        if c.kind != "answer":
            continue
        answers = {s: h.answers[c.grade_id] for s, h in handed.items() if c.grade_id in h.answers}
        checked += 1
        pairs = similarity.find_pairs(answers, [c.starter, c.reference])
        for p in pairs:
            rows.append({"exercise": c.grade_id, "a": p.a, "b": p.b, "similarity": round(p.similarity, 3),
                         "typical": round(p.typical, 3), "shared": p.shared, "alike": p.alike,
                         "overlap_a": round(p.overlap_a, 3), "overlap_b": round(p.overlap_b, 3)})
        views += [(c.grade_id, p) for p in pairs[:PAIRS_SHOWN]]
    table = pd.DataFrame(rows, columns=["exercise", "a", "b", "similarity", "typical", "shared", "alike",
                                        "overlap_a", "overlap_b"])
    return table, views, checked


def combine(reports: list[LabReport]) -> dict[str, pd.DataFrame]:
    """The course's tables, one row per lab and item, as written to ``csv/``."""
    def cat(attr: str) -> pd.DataFrame:
        frames = [getattr(r, attr).assign(lab=r.lab) for r in reports]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return pd.DataFrame(columns=["lab"] + list(getattr(reports[0], attr).columns) if reports else ["lab"])
        t = pd.concat(frames, ignore_index=True)
        return t[["lab"] + [c for c in t.columns if c != "lab"]]

    overview = pd.DataFrame([{
        "lab": r.lab, "graded": len(r.scores),
        "failed": int((r.incidents["what"].isin(["failed", "timed out", "kernel died"])).sum()),
        "max_score": float(r.scores["max_score"].max()) if len(r.scores) else 0.0,
        "mean": round(float(r.scores["score"].mean()), 2) if len(r.scores) else None,
        "median": round(float(r.scores["score"].median()), 2) if len(r.scores) else None,
        "awaiting_manual": len(r.manual), "pairs_worth_a_look": len(r.pairs)} for r in reports])
    return {"overview": overview, "scores": cat("scores"), "exercises": cat("exercises"), "tests": cat("tests"),
            "wrong_answers": cat("wrong"), "incidents": cat("incidents"), "awaiting_manual": cat("manual"),
            "similar_pairs": cat("pairs")}


# ------------------------------------------------------------------------------------- pseudonyms

def pseudonym(student: str, secret: bytes) -> str:
    """A stable pseudonym: HMAC-SHA256 of the id under the course's secret, 40 bits in base32."""
    digest = hmac.new(secret, student.encode("utf-8"), hashlib.sha256).digest()
    return "anon-" + base64.b32encode(digest[:5]).decode("ascii").lower()


def course_secret(root: Path) -> bytes:
    """``<root>/.report-secret``, created once (mode 600): the same pseudonyms on every run."""
    path = root / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode("ascii")


class Pseudonyms:
    """Replaces every student id, in columns and in free text (reasons, paths), by its pseudonym."""

    def __init__(self, root: Path, students: set[str]):
        self.secret = course_secret(root)
        self.known: dict[str, str] = {s: pseudonym(s, self.secret) for s in students}

    def __call__(self, student: str) -> str:
        return self.known.setdefault(student, pseudonym(student, self.secret))

    def text(self, value: str) -> str:
        for real in sorted(self.known, key=len, reverse=True):
            value = re.sub(rf"(?<![\w-]){re.escape(real)}(?![\w-])", self.known[real], value)
        return value

    def table(self, t: pd.DataFrame) -> pd.DataFrame:
        t = t.copy()
        for col in ("student", "a", "b", "example_student"):
            if col in t:
                t[col] = t[col].map(self)
        if "students" in t:
            t["students"] = t["students"].map(lambda v: " ".join(self(s) for s in str(v).split()))
        for col in ("reason",):
            if col in t:
                t[col] = t[col].map(self.text)
        return t

    def lab(self, r: LabReport) -> LabReport:
        views = [(e, similarity.Pair(**{**p.__dict__, "a": self(p.a), "b": self(p.b)})) for e, p in r.views]
        return LabReport(r.lab, self.table(r.scores), r.exercises, r.tests, self.table(r.wrong),
                         self.table(r.incidents), self.table(r.manual), self.table(r.pairs), views,
                         r.exercises_checked)


# ------------------------------------------------------------------------------------------ HTML

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;background:#fafafa}
header{background:#24323f;color:#fff;padding:14px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d3dc}
nav{padding:8px 28px;background:#e8edf2;position:sticky;top:0;z-index:1}nav a{margin-right:14px}
main{padding:8px 28px 40px;max-width:1400px}
section.lab{background:#fff;border:1px solid #dde3e8;border-radius:6px;padding:4px 20px 16px;margin:18px 0}
h2{border-bottom:2px solid #24323f;padding-bottom:4px}h3{margin-top:22px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #d4dae0;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#eef2f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}.row img{max-width:460px;height:auto}
pre{background:#f4f6f8;border:1px solid #dde3e8;padding:8px;overflow-x:auto;font-size:12.5px;margin:4px 0}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px}.pair pre{margin:0;white-space:pre-wrap;word-break:break-word}
mark{background:#ffe08a}.note{color:#555;font-size:13px}.empty{color:#777;font-style:italic}
details{margin:6px 0}summary{cursor:pointer}.bad{color:#a11}.tag{display:inline-block;border-radius:3px;
padding:0 5px;font-size:12px;background:#eef2f5;border:1px solid #d4dae0}
"""


def render(root: Path, reports: list[LabReport], tables: dict[str, pd.DataFrame], anon: bool,
           seconds: float) -> str:
    """The whole report as one HTML page: inline CSS, plots as base64 PNG, no script, no link out."""
    e = html.escape
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Class report — {e(root.name)}"
             f"</title><style>{CSS}</style></head><body>",
             f"<header><h1>Class report: {e(root.name)}</h1><p>{stamp} · read from the gradebook, grades.csv "
             f"and autograded/ · nothing was changed{' · students shown by pseudonym' if anon else ''}</p></header>",
             "<nav><a href='#overview'>Overview</a>" + "".join(
                 f"<a href='#lab-{e(r.lab)}'>{e(r.lab)}</a>" for r in reports) + "</nav><main>",
             "<section id='overview'><h2>Overview</h2>", _table(tables["overview"]),
             "<p class='note'>Each table is also a CSV in <code>csv/</code>. Scores leave out submissions "
             "that failed to grade (see each lab's incidents).</p></section>"]
    parts += [_lab_html(r) for r in reports]
    parts.append(f"<p class='note'>Written in {seconds:.1f} s by seqlab.grading.report.</p></main></body></html>")
    return "\n".join(parts)


def _lab_html(r: LabReport) -> str:
    e = html.escape
    out = [f"<section class='lab' id='lab-{e(r.lab)}'><h2>{e(r.lab)}</h2>"]
    if r.scores.empty:
        return out[0] + "<p class='empty'>No graded submission.</p></section>"
    out += ["<div class='row'><div><h3>Scores</h3>", _histogram(r), "</div><div><h3>Exercises</h3>",
            _table(r.exercises, pct=("full_share",)), "</div></div>",
            "<h3>Test cells</h3>", _table(r.tests, pct=("pass_rate",)),
            "<h3>What the failing students wrote</h3>",
            "<p class='note'>For each test failed most, the failing answers to its exercise grouped: identical "
            "once whitespace, comments and the names an answer binds are set aside.</p>"]
    if r.wrong.empty:
        out.append("<p class='empty'>No test failed.</p>")
    for test, groups in r.wrong.groupby("test", sort=False):
        t = r.tests.set_index("test").loc[test]
        out.append(f"<details open><summary><b>{e(test)}</b> <span class='tag'>{e(t['visibility'])}</span> "
                   f"failed by {int(t['failed'])} of {int(t['submissions'])} · exercise "
                   f"<code>{e(t['exercise'])}</code> · {len(groups)} distinct answer(s)</summary>")
        for g in groups.itertuples():
            label = " (the unchanged starter code)" if g.unchanged_starter else ""
            err = f" · <span class='bad'>{e(g.error)}</span>" if g.error else ""
            out.append(f"<div><b>group {g.group}</b>: {g.size} student(s){label}{err}<br>"
                       f"<span class='note'>{e(g.students)}</span>"
                       f"<pre>{e(g.example)}</pre></div>")
        out.append("</details>")
    out += ["<h3>Submissions that failed, timed out, killed their kernel or were repaired</h3>",
            _table(r.incidents) if not r.incidents.empty else "<p class='empty'>None.</p>",
            "<h3>Written answers awaiting a manual grade</h3>",
            _table(r.manual) if not r.manual.empty else "<p class='empty'>None.</p>",
            "<h3>Answers worth a look</h3>",
            f"<p class='note'>Pairs of answers to one exercise far more alike than either is to the rest of the class, "
            f"and shared by at most {similarity.MAX_ALIKE} students ({r.exercises_checked} exercises checked with "
            f"copydetect; released starter code and the reference solution ignored; a mistake many make is a "
            f"wrong-answer group above, not a pair). <i>similarity</i>: shared fingerprints; <i>typical</i>: how alike "
            f"each is to the rest of the class; <i>overlap</i>: copydetect's share of tokens. A pointer for a human to read both, <b>not a verdict</b>: short answers can be "
            f"alike by chance, and students may have worked together as allowed.</p>"]
    if r.pairs.empty:
        out.append("<p class='empty'>No pair stands out.</p>")
    else:
        out.append(_table(r.pairs, pct=("similarity", "typical", "overlap_a", "overlap_b")))
    for exercise, p in r.views:
        out.append(f"<details class='similar' open><summary><code>{e(exercise)}</code>: <b>{e(p.a)}</b> and "
                   f"<b>{e(p.b)}</b> share {p.similarity:.0%} of their fingerprints (class typical "
                   f"{p.typical:.0%}) — worth a look</summary><div class='pair'>"
                   f"<div><b>{e(p.a)}</b> · {p.overlap_a:.0%} of tokens shared<pre>{p.html_a}</pre></div>"
                   f"<div><b>{e(p.b)}</b> · {p.overlap_b:.0%} of tokens shared<pre>{p.html_b}</pre></div>"
                   f"</div></details>")
    out.append("</section>")
    return "\n".join(out)


def _table(t: pd.DataFrame, pct: tuple[str, ...] = ()) -> str:
    t = t.copy()
    for c in pct:
        if c in t:
            t[c] = t[c].map(lambda v: f"{v:.0%}" if pd.notna(v) else "")
    return t.to_html(index=False, border=0, na_rep="", escape=True, float_format=lambda v: f"{v:g}")


def _histogram(r: LabReport) -> str:
    """The lab's score distribution as an embedded PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = float(r.scores["max_score"].max()) or 1.0
    fig, ax = plt.subplots(figsize=(4.6, 2.6), dpi=100)
    bins = min(20, max(5, int(top) + 1))
    ax.hist(r.scores["score"], bins=bins, range=(0, top), color="#3b6e99", edgecolor="white")
    ax.set_xlabel(f"score (of {top:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{r.lab}: {len(r.scores)} graded, median {r.scores['score'].median():g}", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img alt='score histogram of {html.escape(r.lab)}' src='data:image/png;base64,{data}'>"


# -------------------------------------------------------------------------------------------- CLI

def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    parser.add_argument("--lab", action="append", help="only this lab (repeatable)")
    parser.add_argument("--anon", action="store_true", help="stable pseudonyms instead of student ids")
    parser.add_argument("--out", type=Path, help="output folder (default: report/ or report-anon/)")
    args = parser.parse_args(argv)
    import warnings
    warnings.filterwarnings("ignore", module="nbgrader")
    try:
        page = write_report(args.root, args.lab, args.anon, args.out)
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    print(f"class report: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
