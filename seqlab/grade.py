"""``make grade``: release every lab from ``source/`` and autograde ``submitted/``, offline.

    python -m seqlab.grade [--root DIR] [--lab LAB ...] [--release-only] [--cell-timeout S]

1. ``release/<lab>/`` is regenerated from ``source/<lab>/`` (``nbgrader generate_assignment``).
2. Every ``submitted/<student>/<lab>/`` is checked and, where safe, repaired first
   (:mod:`seqlab.preflight`), then autograded on its own, so one broken submission never stops
   the batch. A notebook whose kernel dies is re-graded without the cell that killed it.
3. When ``submitted/`` holds no real student, a built-in demo class is graded instead:
   ``demo-solutions`` (the reference solutions, written into the release notebook as a student
   would) and ``demo-blank`` (the untouched release).
4. ``grades.csv`` is written at the course root, feedback HTML (without hidden tests) under
   ``feedback/``, and a table and a summary (graded, repaired, failed with reasons) are printed.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import re
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import nbformat

DEMO_SOLUTIONS = "demo-solutions"
DEMO_BLANK = "demo-blank"
DEMO_STUDENTS = (DEMO_SOLUTIONS, DEMO_BLANK)
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
CSV_COLUMNS = ["student", "lab", "score", "max_score", "auto_score", "auto_max", "needs_manual", "status"]


@dataclass
class Result:
    student: str
    lab: str
    ok: bool
    message: str = ""
    notes: list[str] = field(default_factory=list)


# --- course layout --------------------------------------------------------------------------

def labs_in(root: Path) -> list[str]:
    """Every ``source/<lab>/<lab>.ipynb``, sorted."""
    return sorted(p.parent.name for p in (root / "source").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def api_for(root: Path, overrides: Optional[dict] = None):
    """An ``NbGraderAPI`` configured from ``<root>/nbgrader_config.py``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader's Gradebook runs the `alembic` command: make this interpreter's scripts findable
    # even when the virtual environment was not activated.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.merge(Config({"CourseDirectory": {"root": str(root)}}))
    if overrides:
        config.merge(Config(overrides))
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir, config=config)


def generate_release(root: Path, labs: list[str], api=None) -> None:
    """``nbgrader generate_assignment`` for each lab: ``source/`` -> ``release/``."""
    api = api or api_for(root)
    for lab in labs:
        out = api.generate_assignment(lab, force=True)
        if not out["success"]:
            raise RuntimeError(f"generate_assignment {lab} failed:\n{out['log']}\n{out.get('error')}")


# --- the demo class -------------------------------------------------------------------------

def strip_solution_markers(source: str) -> str:
    """The reference solution as a student would type it: without nbgrader's markers."""
    return "\n".join(l for l in source.splitlines() if not _MARKER.match(l))


def solved_notebook(source_nb, release_nb):
    """The release notebook with every answer cell filled in from the source notebook."""
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in source_nb.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = strip_solution_markers(answers[meta["grade_id"]])
    return nb


def write_demo_class(root: Path, labs: list[str]) -> None:
    """``submitted/demo-solutions`` and ``submitted/demo-blank`` for every lab."""
    for lab in labs:
        release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
        source = nbformat.read(root / "source" / lab / f"{lab}.ipynb", as_version=4)
        for student, nb in ((DEMO_BLANK, release), (DEMO_SOLUTIONS, solved_notebook(source, release))):
            folder = root / "submitted" / student / lab
            if folder.exists():
                shutil.rmtree(folder)
            shutil.copytree(root / "release" / lab, folder)
            nbformat.write(nb, folder / f"{lab}.ipynb")


def students_in(root: Path) -> list[str]:
    sub = root / "submitted"
    return sorted(p.name for p in sub.iterdir() if p.is_dir()) if sub.is_dir() else []


# --- grading --------------------------------------------------------------------------------

def find_killer(path: Path, timeout: int) -> Optional[int]:
    """Execute ``path`` cell by cell; return the index of the cell during which the kernel died."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from .sandbox import SandboxedKernelManager

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, kernel_manager_class=SandboxedKernelManager,
                            resources={"metadata": {"path": str(path.parent)}})
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    try:
                        client.execute_cell(cell, index)
                    except DeadKernelError:
                        return index
    except DeadKernelError:
        pass
    finally:
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
    return None


KILLED = ("This cell stopped the grading kernel (os._exit, a crash or running out of memory). "
          "It was skipped so that the rest of the notebook could be graded.")


def grade_one(root: Path, api, student: str, lab: str, release) -> Result:
    """Pre-flight, autograde and, if the kernel died, skip the cell that killed it and re-grade.

    A death that no cell reproduces (the notebook runs to its end, cell by cell) is not held
    against the student: the submission is graded again, at most three attempts in all."""
    from .preflight import check, keep_originals

    folder = root / "submitted" / student / lab
    report = check(folder, lab, release)
    notes = [f"repaired: {r}" for r in report.repaired] + [f"warning: {p}" for p in report.problems]
    if not report.gradable:
        return Result(student, lab, False, "; ".join(report.problems), notes=[n for n in notes if n.startswith("repaired")])
    timeout = int(api.config.get("Execute", {}).get("timeout", 600))
    message = ""
    for _ in range(3):
        out = api.autograde(lab, student, force=True, create=True)
        if out["success"]:
            return Result(student, lab, True, notes=notes)
        message = (out.get("error") or "") + "\n" + (out.get("log") or "")
        if "Kernel died" not in message and "DeadKernelError" not in message:
            break
        path = folder / f"{lab}.ipynb"
        index = find_killer(path, timeout)
        if index is None:
            # Every cell ran with the kernel alive: the death was not the submission's doing (a
            # kernel that failed to start, e.g. two kernels given the same port, or a passing
            # memory shortage on the machine). Grade again rather than fail the student.
            message = "the kernel died, and not when re-run cell by cell"
            notes.append("retried: the grading kernel died once, not in any cell of the submission")
            continue
        nb = nbformat.read(path, as_version=4)
        if nb.cells[index].metadata.get("nbgrader", {}).get("locked"):
            message = f"the kernel died in locked cell {index + 1}"
            break
        keep_originals(folder)
        nb.cells[index].source = f"raise RuntimeError({KILLED!r})"
        nbformat.write(nb, path)
        notes.append(f"repaired: cell {index + 1} stopped the kernel; skipped and re-graded")
    lines = [l for l in message.strip().splitlines() if l.strip()]
    return Result(student, lab, False, lines[-1] if lines else "autograde failed", notes=notes)


def autograde(root: Path, labs: list[str], students: list[str], api=None) -> list[Result]:
    """Autograde each (student, lab) submission on its own; never stop the batch."""
    api = api or api_for(root)
    releases = {lab: nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4) for lab in labs}
    results = []
    for student in students:
        for lab in labs:
            if not (root / "submitted" / student / lab).is_dir():
                continue
            try:
                results.append(grade_one(root, api, student, lab, releases[lab]))
            except Exception as exc:  # one student must never stop the batch
                results.append(Result(student, lab, False, f"{type(exc).__name__}: {exc}"))
    return results


def feedback(root: Path, results: list[Result], api=None) -> list[Result]:
    """HTML feedback for every graded submission, without hidden tests."""
    api = api or api_for(root)
    failed = []
    for r in results:
        if r.ok:
            out = api.generate_feedback(r.lab, r.student, force=True)
            if not out["success"]:
                failed.append(Result(r.student, r.lab, False, "feedback failed"))
    return failed


def award_reference_answers(root: Path, labs: list[str]) -> None:
    """Give ``demo-solutions`` full manual marks: its written answers *are* the reference."""
    from nbgrader.api import Gradebook, MissingEntry

    api = api_for(root)
    with Gradebook(api.coursedir.db_url) as gb:
        for lab in labs:
            try:
                submission = gb.find_submission(lab, DEMO_SOLUTIONS)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade:
                        grade.manual_score = grade.max_score
                        grade.needs_manual_grade = False
        gb.db.commit()


def collect(root: Path, results: list[Result]) -> list[dict]:
    """One row per (student, lab): total, autograded part, and what still needs a human."""
    from nbgrader.api import Gradebook, MissingEntry

    api = api_for(root)
    rows = []
    with Gradebook(api.coursedir.db_url) as gb:
        for r in results:
            row = {"student": r.student, "lab": r.lab, "score": "", "max_score": "", "auto_score": "",
                   "auto_max": "", "needs_manual": "", "status": "graded" if r.ok else "FAILED"}
            try:
                sub = gb.find_submission(r.lab, r.student)
            except MissingEntry:
                sub = None
            if sub is not None and r.ok:
                grades = [g for nb in sub.notebooks for g in nb.grades]
                auto = [g for g in grades if g.cell.cell_type == "code"]  # test cells
                row.update(
                    score=round(sub.score, 2), max_score=round(sub.max_score, 2),
                    auto_score=round(sum(g.score for g in auto), 2),
                    auto_max=round(sum(g.max_score for g in auto), 2),
                    needs_manual=sum(1 for g in grades if g.needs_manual_grade),
                )
            if not r.ok:
                row["status"] += f": {r.message}"
            if r.notes:
                row["status"] += "; " + "; ".join(r.notes)
            rows.append(row)
    return sorted(rows, key=lambda x: (x["student"], x["lab"]))


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def format_table(rows: list[dict]) -> str:
    cols = ["student", "lab", "score", "max_score", "needs_manual", "status"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) if rows else len(c) for c in cols}
    line = lambda r: "  ".join(str(r[c]).ljust(widths[c]) for c in cols)  # noqa: E731
    return "\n".join([line({c: c for c in cols}), line({c: "-" * widths[c] for c in cols})]
                     + [line(r) for r in rows])


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    parser.add_argument("--lab", action="append", help="grade only this lab (repeatable)")
    parser.add_argument("--release-only", action="store_true", help="only regenerate release/")
    parser.add_argument("--cell-timeout", type=int, help="per-cell limit in seconds (default: nbgrader_config.py)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    labs = args.lab or labs_in(root)
    # nbgrader's own SQLAlchemy usage warns on every autograde; it is not the instructor's problem.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")

    api = api_for(root, {"Execute": {"timeout": args.cell_timeout}} if args.cell_timeout else None)
    # Grade from outside the course: a kernel that looks at its parent's working directory
    # (/proc/<ppid>/cwd) must not land in the folder holding source/ and the gradebook.
    os.chdir(tempfile.mkdtemp(prefix="seqlab-grade-"))
    print(f"releasing {len(labs)} lab(s): {', '.join(labs)}")
    generate_release(root, labs, api)
    if args.release_only:
        return 0

    students = [s for s in students_in(root) if s not in DEMO_STUDENTS]
    demo = not students
    if demo:
        print("submitted/ holds no student: grading the demo class "
              f"({DEMO_SOLUTIONS}, {DEMO_BLANK})")
        write_demo_class(root, labs)
        students = list(DEMO_STUDENTS)
    print(f"autograding {len(students)} student(s) x {len(labs)} lab(s) ...", flush=True)
    results = autograde(root, labs, students, api)
    if demo:
        award_reference_answers(root, labs)

    rows = collect(root, results)
    write_csv(root / "grades.csv", rows)
    feedback_failures = feedback(root, results, api)
    print()
    print(format_table(rows))
    print()
    print(summary(results, feedback_failures))
    return 1 if demo and any(not r.ok for r in results) else 0


def summary(results: list[Result], feedback_failures: list[Result] = ()) -> str:
    """Graded, repaired and failed submissions, with reasons."""
    ok = [r for r in results if r.ok]
    repaired = [r for r in results if any(n.startswith("repaired") for n in r.notes)]
    warned = [r for r in results if any(n.startswith("warning") for n in r.notes)]
    failed = [r for r in results if not r.ok]
    lines = [f"{len(ok)} graded, {len(repaired)} repaired, {len(warned)} with warnings, "
             f"{len(failed)} failed; grades.csv and feedback/ written"]
    for label, group in (("repaired", repaired), ("warning", warned)):
        for r in group:
            for n in r.notes:
                if n.startswith(label):
                    lines.append(f"  {label.upper():8} {r.student}/{r.lab}: {n.split(': ', 1)[1]}")
    for r in failed:
        lines.append(f"  FAILED   {r.student}/{r.lab}: {r.message}")
    for r in feedback_failures:
        lines.append(f"  FEEDBACK {r.student}/{r.lab}: {r.message}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
