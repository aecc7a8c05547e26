"""What a grading run reports: one ``grades.csv`` row per submission, a table and a summary."""
from __future__ import annotations

import csv
from pathlib import Path

from .autograde import Result
from .course import api_for

CSV_COLUMNS = ["student", "lab", "score", "max_score", "auto_score", "auto_max", "needs_manual", "status"]


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


