"""How long ``make report`` takes for a big class: 500 students x 8 labs, generated, then reported.

    make bench-report       (python bench/report.py [--students 500] [--labs 8] [--keep DIR])

A throw-away course holds the real labs' ``source/`` and ``release/`` (Lab 01 again under a new
name when 8 labs are asked for and the course has 7). :func:`make_class` fills it as grading would:

- the gradebook, through nbgrader's API (``Gradebook`` and its ORM: assignments, notebooks, grade
  and solution cells, one submission per student and lab with a grade for every graded cell);
- ``autograded/<student>/<lab>/<lab>.ipynb``: the release notebook with each answer cell filled in
  and an error output in every failed test cell;
- ``grades.csv`` with the statuses grading writes (a few time-outs, repairs, retries).

Each answer is drawn per student: the reference solution (with the student's own names), a
mistake from ``tests/mutants/`` (its tests fail), the untouched starter code (all its tests fail),
or the reference with a few lines of the student's own; a few pairs of students hand in one
answer, renamed. Seeded: the same class every run. Then :func:`seqlab.grading.report.write_report`
is timed (best and every run) and ``bench/report.json`` written with the machine's description.
"""
from __future__ import annotations

import argparse
import copy
import csv
import importlib
import json
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from seqlab.grading.course import api_for, labs_in, solved_notebook  # noqa: E402

CHOICES = (("reference", 0.45), ("own", 0.3), ("mutant", 0.15), ("starter", 0.1))


def make_course(root: Path, n_labs: int) -> list[str]:
    """``root`` with the config and ``n_labs`` labs (``source/`` and ``release/``); their names."""
    (root / "source").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    real = labs_in(ROOT)
    labs = []
    for i in range(n_labs):
        base = real[i % len(real)]
        name = base if i < len(real) else f"{i + 1:02d}-{base[3:]}-again"
        for part in ("source", "release"):
            (root / part / name).mkdir(parents=True)
            shutil.copy(ROOT / part / base / f"{base}.ipynb", root / part / name / f"{name}.ipynb")
        labs.append(name)
    return labs


def _mutants(lab: str) -> dict[str, list[dict]]:
    try:
        found = importlib.import_module(f"mutants.lab{lab[:2]}").MUTANTS
    except ModuleNotFoundError:
        found = importlib.import_module("mutants.lab01").MUTANTS
    out: dict[str, list[dict]] = {}
    for m in found:
        out.setdefault(m["cell"], []).append(m)
    return out


def _rename(code: str, rng: random.Random) -> str:
    """The same code with the student's own names for a few of its local variables."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    api = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - api)
    for name in rng.sample(names, k=min(len(names), 3)):
        code = re.sub(rf"\b{re.escape(name)}\b", f"{name}_{rng.randrange(100)}", code)
    return code


def _own_lines(rng: random.Random) -> str:
    """A few lines only this student wrote (a check, a helper), different numbers and operators."""
    ops = ["+", "-", "*", "//", "%"]
    lines = []
    for k in range(rng.randint(2, 4)):
        a, b, n = rng.randrange(2, 97), rng.randrange(2, 97), rng.randrange(3, 40)
        lines.append(f"check_{k} = sum((v {rng.choice(ops)} {a}) {rng.choice(ops)} {b} for v in range({n}))")
    lines.append(f"assert check_0 == check_0, 'sanity {rng.randrange(10**6)}'")
    return "\n".join(lines) + "\n"


def _graded_cells(nb) -> tuple[list, list, list]:
    answers, tests, written = [], [], []
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution") and c.cell_type == "code":
            answers.append(c)
        elif meta.get("grade") and c.cell_type == "code":
            tests.append(c)
        elif meta.get("grade"):
            written.append(c)
    return answers, tests, written


def make_class(root: Path, n_students: int, n_labs: int, seed: int = 22) -> dict:
    """Fill the course at ``root`` (see the module's docstring); what it made, in numbers."""
    import nbformat
    from nbgrader.api import (Assignment, Grade, Gradebook, Notebook, Student, SubmittedAssignment,
                              SubmittedNotebook)

    rng = random.Random(seed)
    labs = make_course(root, n_labs)
    students = [f"s{i:04d}" for i in range(n_students)]
    # a few pairs hand in the same answer to one exercise: (lab index, student a, student b)
    pairs = [(rng.randrange(n_labs), *rng.sample(students, 2)) for _ in range(max(1, n_students // 50))]
    url = api_for(root).coursedir.db_url
    status_rows, made = [], {"submissions": 0, "notebooks": 0, "copied_pairs": len(pairs)}
    with Gradebook(url) as gb:
        for li, lab in enumerate(labs):
            release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
            source = nbformat.read(root / "source" / lab / f"{lab}.ipynb", as_version=4)
            solved = solved_notebook(source, release)
            reference = {c.metadata.nbgrader["grade_id"]: c.source for c in _graded_cells(solved)[0]}
            answers, tests, written = _graded_cells(release)
            owner, exercise = {}, None
            for c in release.cells:  # each test cell: the answer cell above it
                meta = c.metadata.get("nbgrader", {})
                if meta.get("solution") and c.cell_type == "code":
                    exercise = meta["grade_id"]
                elif meta.get("grade") and c.cell_type == "code":
                    owner[meta["grade_id"]] = exercise
            mutants = _mutants(lab)

            gb.add_assignment(lab)
            gb.add_notebook(lab, lab)
            for c in tests + written:
                meta = c.metadata.nbgrader
                gb.add_grade_cell(meta["grade_id"], lab, lab, max_score=float(meta["points"]),
                                  cell_type="code" if c.cell_type == "code" else "markdown")
            for c in answers + written:
                gb.add_solution_cell(c.metadata.nbgrader["grade_id"], lab, lab)
            assignment = gb.db.query(Assignment).filter(Assignment.name == lab).one()
            notebook = gb.db.query(Notebook).filter(Notebook.assignment == assignment).one()
            cells = {c.name: c for c in notebook.grade_cells}
            copied = {s: (a, b) for (l, a, b) in pairs if l == li for s in (a, b)}
            shared = {}
            for student in students:
                if li == 0:
                    gb.db.add(Student(id=student))
                fate = {}
                for c in answers:
                    gid = c.metadata.nbgrader["grade_id"]
                    kind = rng.choices([k for k, _ in CHOICES], [w for _, w in CHOICES])[0]
                    if kind == "mutant" and gid not in mutants:
                        kind = "own"
                    if kind == "reference":
                        code, fails = _rename(reference[gid], rng), set()
                    elif kind == "own":
                        code, fails = reference[gid].rstrip("\n") + "\n\n\n" + _own_lines(rng), set()
                    elif kind == "mutant":
                        m = rng.choice(mutants[gid])
                        code, fails = _rename(m["source"], rng), set(m["fails"]) & set(owner)
                    else:
                        code = c.source
                        fails = {t for t, e in owner.items() if e == gid}
                    fate[gid] = (code, fails)
                if student in copied:  # the pair's first exercise: one text, the second renamed
                    gid = answers[0].metadata.nbgrader["grade_id"]
                    key = copied[student]
                    if key not in shared:
                        shared[key] = reference[gid].rstrip("\n") + "\n\n\n" + _own_lines(rng) + _own_lines(rng)
                        fate[gid] = (shared[key], set())
                    else:
                        fate[gid] = (_rename(shared[key], rng), set())
                failing = set().union(*(f for _, f in fate.values()))
                status = _status(rng)
                status_rows.append((student, lab, status))
                if status.startswith("FAILED"):
                    continue
                sub_a = SubmittedAssignment(assignment=assignment, student_id=student)
                sub_nb = SubmittedNotebook(assignment=sub_a, notebook=notebook)
                for gid, cell in cells.items():
                    if cell.cell_type == "code":
                        gb.db.add(Grade(notebook=sub_nb, cell=cell, needs_manual_grade=False,
                                        auto_score=0.0 if gid in failing else cell.max_score))
                    else:
                        waiting = rng.random() < 0.3
                        gb.db.add(Grade(notebook=sub_nb, cell=cell, needs_manual_grade=waiting,
                                        manual_score=None if waiting else float(rng.randrange(int(cell.max_score) + 1))))
                gb.db.add_all([sub_a, sub_nb])
                _write_autograded(root / "autograded" / student / lab / f"{lab}.ipynb", release,
                                  {g: code for g, (code, _) in fate.items()}, failing, rng)
                made["submissions"] += 1
                made["notebooks"] += 1
            gb.db.commit()
    with open(root / "grades.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "lab", "score", "max_score", "auto_score", "auto_max", "needs_manual", "status"])
        for student, lab, status in status_rows:
            w.writerow([student, lab, "", "", "", "", "", status])
    made["pairs"] = [(labs[l], a, b) for l, a, b in pairs]
    return made


def _status(rng: random.Random) -> str:
    x = rng.random()
    if x < 0.004:
        return "FAILED: ran past the time limit for a whole submission (900 s)"
    if x < 0.008:
        return "FAILED: Notebook JSON is invalid: Expecting ',' delimiter: line 12 column 5"
    if x < 0.02:
        return "graded; repaired: cell 7 stopped the kernel; skipped and re-graded"
    if x < 0.03:
        return "graded; retried: the grading kernel died once, not in any cell of the submission"
    return "graded"


def _write_autograded(path: Path, release, answers: dict[str, str], failing: set[str], rng) -> None:
    nb = copy.deepcopy(release)
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if gid in answers:
            c.source = answers[gid]
        if c.cell_type == "code":
            c.outputs = []
            if gid in failing:
                c.outputs.append({"output_type": "error", "ename": "AssertionError",
                                  "evalue": f"case {rng.randrange(5)}", "traceback": []})
            elif gid and rng.random() < 0.002:
                c.outputs.append({"output_type": "error", "ename": "CellTimeoutError",
                                  "evalue": "No reply from kernel before timeout", "traceback": []})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(nb, f)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--labs", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2, help="reports written (the best counts)")
    parser.add_argument("--keep", type=Path, help="build the class here and keep it")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "report.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from seqlab.grading.report import write_report

    root = args.keep or Path(tempfile.mkdtemp(prefix="seqlab-bench-report-")) / "course"
    try:
        start = time.perf_counter()
        made = make_class(root, args.students, args.labs)
        generate_s = time.perf_counter() - start
        print(f"generated {args.students} students x {args.labs} labs in {generate_s:.0f} s", flush=True)
        runs = []
        for _ in range(args.runs):
            start = time.perf_counter()
            page = write_report(root)
            runs.append(round(time.perf_counter() - start, 2))
            print(f"write_report: {runs[-1]:.1f} s -> {page}", flush=True)
        found = _pairs_found(page.parent / "csv" / "similar_pairs.csv")
        result = {
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_avg_1m_at_start": round(os.getloadavg()[0], 2)},
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "students": args.students, "labs": args.labs, "submissions": made["submissions"],
            "autograded_notebooks": made["notebooks"],
            "autograded_bytes": sum(p.stat().st_size for p in (root / "autograded").rglob("*.ipynb")),
            "gradebook_bytes": (root / "gradebook.db").stat().st_size,
            "generate_s": round(generate_s, 1), "report_s": runs, "best_report_s": min(runs),
            "goal_s": 60, "copied_pairs_planted": made["copied_pairs"],
            "copied_pairs_found": sum(1 for p in made["pairs"] if _key(p) in found),
            "pairs_reported": len(found),
            "html_bytes": page.stat().st_size,
        }
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
        return 0 if min(runs) < 60 else 1
    finally:
        if not args.keep:
            shutil.rmtree(root.parent, ignore_errors=True)


def _key(p) -> tuple:
    lab, a, b = p
    return lab, *sorted((a, b))


def _pairs_found(path: Path) -> set:
    with open(path) as f:
        return {_key((r["lab"], r["a"], r["b"])) for r in csv.DictReader(f)}


if __name__ == "__main__":
    sys.exit(main())
