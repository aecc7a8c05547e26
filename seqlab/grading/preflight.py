"""Pre-flight checks of one submission before nbgrader sees it.

nbgrader 0.9.6 fails a whole submission — or, for a duplicated cell, the whole batch — on
problems that are safe to repair, and silently scores 0 a notebook whose cell metadata another
editor stripped. :func:`check` repairs what is safe in place, keeps the original under
``.preflight/`` beside it (nbgrader is configured to ignore that folder) and reports the rest.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

BACKUP = ".preflight"


@dataclass
class Report:
    gradable: bool = True
    repaired: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def keep_originals(folder: Path) -> None:
    """Before the first change to a submission, copy its notebooks as handed in to ``.preflight/``."""
    backup = folder / BACKUP
    if not backup.exists():
        backup.mkdir()
        for path in folder.glob("*.ipynb"):
            shutil.copy2(path, backup / path.name)


def restore_originals(folder: Path) -> None:
    """Put the notebooks back as handed in, so that re-grading repeats the same repairs."""
    backup = folder / BACKUP
    if backup.is_dir():
        for path in folder.glob("*.ipynb"):
            path.unlink()
        for path in backup.glob("*.ipynb"):
            shutil.copy2(path, folder / path.name)


def _backup(folder: Path, path: Path) -> None:
    keep_originals(folder)


def _find_notebook(folder: Path, lab: str, report: Report) -> Path | None:
    expected = folder / f"{lab}.ipynb"
    others = sorted(p for p in folder.glob("*.ipynb") if p != expected)
    if not expected.exists():
        if len(others) == 1:
            _backup(folder, others[0])
            others[0].rename(expected)
            report.repaired.append(f"renamed notebook {others[0].name} -> {expected.name}")
            others = []
        else:
            names = ", ".join(p.name for p in others) or "none"
            report.problems.append(f"no {expected.name} (notebooks found: {names})")
            report.gradable = False
            return None
    for extra in others:  # nbgrader would stop at a notebook it does not know
        _backup(folder, extra)
        extra.unlink()
        report.repaired.append(f"extra notebook {extra.name} set aside (not graded)")
    return expected


def _restore_metadata(nb: NotebookNode, release: NotebookNode, report: Report) -> bool:
    """Give back nbgrader metadata that an editor stripped, matching cells to the release."""
    present = {_grade_id(c) for c in nb.cells if _grade_id(c)}
    missing = [c for c in release.cells if _grade_id(c) and _grade_id(c) not in present]
    if not missing:
        return False
    by_id = {c.get("id"): c for c in nb.cells if c.get("id") and not _grade_id(c)}
    by_source: dict[str, list] = {}
    for c in nb.cells:
        if not _grade_id(c):
            by_source.setdefault(c.source.strip(), []).append(c)
    restored, lost = 0, []
    for ref in missing:
        meta = ref.metadata["nbgrader"]
        cell = by_id.get(ref.get("id")) if ref.get("id") else None
        if cell is None and not meta.get("solution"):  # locked cells keep their text
            candidates = by_source.get(ref.source.strip(), [])
            cell = candidates[0] if candidates else None
        if cell is None and meta.get("solution") and ref.cell_type == "code":
            # An answer cell starts like the release stub (the def line and docstring).
            head = ref.source.strip().splitlines()[0] if ref.source.strip() else None
            matches = [c for c in nb.cells if c.cell_type == "code" and not _grade_id(c)
                       and head and c.source.strip().startswith(head)]
            cell = matches[0] if len(matches) == 1 else None
        if cell is None or cell.cell_type != ref.cell_type:
            lost.append(meta["grade_id"])
            continue
        cell.metadata["nbgrader"] = json.loads(json.dumps(meta))
        if cell.get("id") is None or cell.get("id") in {c.get("id") for c in nb.cells if c is not cell}:
            cell["id"] = ref.get("id")
        restored += 1
        by_id.pop(cell.get("id"), None)
        for group in by_source.values():
            if cell in group:
                group.remove(cell)
    if restored:
        report.repaired.append(f"restored stripped nbgrader metadata of {restored} cell(s)")
    if lost:
        report.problems.append("cells not found (tests are re-added, answers graded as blank): "
                               + ", ".join(lost))
    return bool(restored)


def _drop_unknown(nb: NotebookNode, release: NotebookNode, report: Report) -> bool:
    """nbgrader metadata naming a cell the release does not have (forged, or from another lab)."""
    known = {_grade_id(c) for c in release.cells if _grade_id(c)}
    unknown = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is not None and meta.get("grade_id") not in known:
            del cell.metadata["nbgrader"]
            unknown.append(str(meta.get("grade_id")))
    if unknown:
        report.repaired.append("cell(s) with unknown nbgrader ids made ordinary: " + ", ".join(unknown))
    return bool(unknown)


def _dedupe(nb: NotebookNode, report: Report) -> bool:
    """A grade id seen twice: the first keeps it, later copies become ordinary cells."""
    seen, dupes = set(), []
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid and gid in seen:
            del cell.metadata["nbgrader"]
            dupes.append(gid)
        elif gid:
            seen.add(gid)
    ids = set()
    for i, cell in enumerate(nb.cells):
        if cell.get("id") in ids or not cell.get("id"):
            cell["id"] = f"preflight-{i}"
        ids.add(cell["id"])
    if dupes:
        report.repaired.append("duplicated cell(s) " + ", ".join(sorted(set(dupes)))
                               + ": later copies are not graded")
    return bool(dupes)


def check(folder: Path, lab: str, release: NotebookNode) -> Report:
    """Validate and, where safe, repair ``folder/<lab>.ipynb`` against the release notebook."""
    report = Report()
    restore_originals(folder)
    path = _find_notebook(folder, lab, report)
    if path is None:
        return report
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        report.problems.append(f"not a notebook: invalid JSON ({err.msg} at line {err.lineno}, "
                               f"column {err.colno})")
        report.gradable = False
        return report
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat's own errors are many and varied
        report.problems.append(f"not a readable notebook: {type(err).__name__}: {err}"[:300])
        report.gradable = False
        return report
    changed = False
    version = (raw.get("nbformat"), raw.get("nbformat_minor"))
    if version[0] != 4 or (version[1] or 0) < 5:
        report.repaired.append(f"upgraded from nbformat {version[0]}.{version[1]} to 4.5")
        nb.nbformat, nb.nbformat_minor = 4, 5
        changed = True
    changed |= _drop_unknown(nb, release, report)
    changed |= _dedupe(nb, report)
    changed |= _restore_metadata(nb, release, report)
    if changed:
        _backup(folder, path)
        nbformat.write(nb, path)
    return report
