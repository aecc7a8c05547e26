"""Hand-in and hand-back through an LMS (Canvas, Moodle): import its zip of submissions, export grades
and feedback in forms it imports.

    python -m seqlab.grading.lms import --zip Z --lms canvas|moodle [--lab LAB] [--roster CSV]
    python -m seqlab.grading.lms export [--roster CSV]

(``make collect-zip`` and ``make export-lms``.)

**Import.** The LMS names every file of its "download all submissions" zip after the student:

- Canvas: ``<lastfirst>_<userid>_<submissionid>_<original name>``, with ``_LATE`` after the name
  for a late submission (and ``-1``, ``-2`` ... added to the original name on a resubmission);
- Moodle: ``<Full Name>_<participant id>_assignsubmission_file_<original name>``, flat or with
  ``<Full Name>_<id>_assignsubmission_file_/`` as a folder.

:data:`NAMED_REGEXP` holds one regular expression per LMS, with the ``student_id`` and ``file_id``
groups nbgrader's ``FileNameCollectorPlugin.named_regexp`` (``nbgrader zip_collect``) expects. Each
notebook goes to ``submitted/<student>/<lab>/<lab>.ipynb`` with the LMS name of its file beside it
(``lms.json``, used to name the feedback on export). The student is the roster's ``student_id``
for the LMS id (``--roster``: a CSV with ``student_id`` and ``lms_id`` columns), or the LMS id
itself without a roster. The lab is ``--lab``, or else the original file name (``<lab>.ipynb``).

Nothing is lost: a file that cannot be placed is copied to ``unplaced/<zip name>/`` and listed, with
its reason, in ``unplaced/<zip name>/report.csv`` — a name not in the LMS's format, not a notebook,
an LMS id not in the roster, a lab the course does not have, or the older of two files for one
student and lab (the later submission id, or else the later zip time stamp, is placed).

**Export.** ``lms/grades_wide.csv`` has one row per student and one column per lab (the total score
from ``grades.csv``, the long format ``make grade`` writes), with the LMS id when a roster is
given; ``lms/feedback/`` holds one HTML per student and lab, flat, named with the LMS's own prefix
for that student (as its "upload feedback files" zip expects) when the submission came from an
LMS zip, else ``<student>_<lab>.html``.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .course import labs_in

NAMED_REGEXP = {
    "canvas": r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<student_id>\d+)_(?P<submission_id>\d+)_(?P<file_id>[^/]+)$",
    "moodle": r"^(?P<name>[^_/]+)_(?P<student_id>\d+)_assignsubmission_file_/?(?P<file_id>[^/]+)$",
}
LMS_NAMES = tuple(NAMED_REGEXP)
_RESUBMISSION = re.compile(r"-\d+$")  # Canvas: lab-1.ipynb is the second upload of lab.ipynb


@dataclass
class Placed:
    member: str
    student: str
    lab: str
    lms_id: str
    prefix: str  # the LMS's name for this student, up to the original file name
    order: tuple  # (submission id, zip time stamp): the larger is the later submission
    late: bool = False


@dataclass
class ImportReport:
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[tuple[str, str]] = field(default_factory=list)  # (zip member, reason)

    def describe(self) -> str:
        lines = [f"placed {len(self.placed)} notebook(s), could not place {len(self.unplaced)} file(s)"]
        lines += [f"  placed   {p.member} -> submitted/{p.student}/{p.lab}/{p.lab}.ipynb"
                  + (" (late)" if p.late else "") for p in self.placed]
        lines += [f"  UNPLACED {m}: {why}" for m, why in self.unplaced]
        return "\n".join(lines)


def read_roster(path: Optional[Path]) -> Optional[dict[str, str]]:
    """{LMS id: student id} from a CSV with ``student_id`` and ``lms_id`` columns."""
    if path is None:
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"student_id", "lms_id"} <= set(rows[0]):
        raise ValueError(f"{path}: the roster needs the columns student_id and lms_id, has {sorted(rows[0])}")
    return {r["lms_id"].strip(): r["student_id"].strip() for r in rows}


def _match(lms: str, member: str, roster: Optional[dict[str, str]], labs: list[str], lab: Optional[str],
           info: zipfile.ZipInfo) -> Placed | str:
    """Where ``member`` goes, or why it cannot be placed."""
    m = re.match(NAMED_REGEXP[lms], member)
    if m is None:
        return f"the name is not in {lms.capitalize()}'s format for submissions"
    original = m["file_id"]
    if not original.endswith(".ipynb"):
        return "not a notebook (.ipynb)"
    lms_id = m["student_id"]
    if roster is not None and lms_id not in roster:
        return f"LMS id {lms_id} ({m['name']}) matches no student in the roster"
    target = lab or _RESUBMISSION.sub("", original[: -len(".ipynb")])
    if target not in labs:
        return f"unknown lab {target!r}: the course has {', '.join(labs)}"
    sub_id = int(m.groupdict().get("submission_id") or 0)
    return Placed(member, roster[lms_id] if roster is not None else lms_id, target, lms_id,
                  prefix=member[: m.start("file_id")], order=(sub_id, info.date_time),
                  late=bool(m.groupdict().get("late")))


def import_zip(root: Path, zip_path: Path, lms: str, lab: Optional[str] = None,
               roster: Optional[dict[str, str]] = None) -> ImportReport:
    """Place every notebook of an LMS's submissions zip under ``submitted/``; copy the rest to
    ``unplaced/<zip name>/`` with ``report.csv``. Raises ValueError for an unknown LMS or lab."""
    if lms not in NAMED_REGEXP:
        raise ValueError(f"unknown LMS {lms!r}: one of {', '.join(LMS_NAMES)}")
    labs = labs_in(root)
    if lab is not None and lab not in labs:
        raise ValueError(f"unknown lab {lab!r}: the course has {', '.join(labs)}")
    report = ImportReport()
    with zipfile.ZipFile(zip_path) as zf:
        chosen: dict[tuple[str, str], Placed] = {}
        for info in zf.infolist():
            if info.is_dir():
                continue
            where = _match(lms, info.filename, roster, labs, lab, info)
            if isinstance(where, str):
                report.unplaced.append((info.filename, where))
                continue
            key = (where.student, where.lab)
            if key in chosen:
                older, newer = sorted([chosen[key], where], key=lambda p: p.order)
                report.unplaced.append((older.member, f"two files for {where.student} / {where.lab}: "
                                                      f"{newer.member} is the later and was placed"))
                chosen[key] = newer
            else:
                chosen[key] = where
        for placed in sorted(chosen.values(), key=lambda p: (p.student, p.lab)):
            folder = root / "submitted" / placed.student / placed.lab
            if folder.exists():  # an earlier hand-in (and its pre-flight copies) is replaced whole
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            (folder / f"{placed.lab}.ipynb").write_bytes(zf.read(placed.member))
            (folder / "lms.json").write_text(json.dumps(
                {"lms": lms, "lms_id": placed.lms_id, "prefix": placed.prefix, "file": placed.member,
                 "late": placed.late}, indent=1))
            report.placed.append(placed)
        if report.unplaced:
            out = root / "unplaced" / zip_path.stem
            out.mkdir(parents=True, exist_ok=True)
            with open(out / "report.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["file", "copied_to", "reason"])
                for member, why in report.unplaced:
                    copy = out / member.replace("/", "__")
                    copy.write_bytes(zf.read(member))
                    writer.writerow([member, str(copy.relative_to(root)), why])
    return report


def wide_grades(long_rows: list[dict], labs: list[str], roster: Optional[dict[str, str]] = None) -> list[dict]:
    """One row per student, one column per lab (total score; empty where not graded), plus
    ``lms_id`` when a roster is given. ``long_rows`` are ``grades.csv``'s rows."""
    lms_of = {student: lms_id for lms_id, student in (roster or {}).items()}
    students = sorted({r["student"] for r in long_rows} | set(lms_of))
    out = []
    for student in students:
        row = {"student": student}
        if roster is not None:
            row["lms_id"] = lms_of.get(student, "")
        for lab in labs:
            row[lab] = next((r["score"] for r in long_rows if r["student"] == student and r["lab"] == lab), "")
        out.append(row)
    return out


def export(root: Path, roster: Optional[dict[str, str]] = None) -> tuple[Path, list[Path]]:
    """``lms/grades_wide.csv`` and ``lms/feedback/*.html`` from ``grades.csv`` and ``feedback/``."""
    with open(root / "grades.csv", newline="") as f:
        long_rows = list(csv.DictReader(f))
    labs = sorted({r["lab"] for r in long_rows})
    out = root / "lms"
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    rows = wide_grades(long_rows, labs, roster)
    with open(out / "grades_wide.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["student", *labs])
        writer.writeheader()
        writer.writerows(rows)
    written = []
    for html in sorted((root / "feedback").glob("*/*/*.html")):
        student, lab = html.parent.parent.name, html.parent.name
        manifest = root / "submitted" / student / lab / "lms.json"
        # Canvas "doejane_101_5001_", Moodle "Jane Doe_12_assignsubmission_file_" (its folder form
        # ends in "/": the flat form is what its feedback upload matches as well).
        prefix = json.loads(manifest.read_text())["prefix"].rstrip("/") if manifest.exists() else f"{student}_"
        target = out / "feedback" / f"{prefix}{lab}-feedback.html"
        shutil.copyfile(html, target)
        written.append(target)
    return out / "grades_wide.csv", written


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["import", "export"])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    parser.add_argument("--zip", type=Path, help="the LMS's zip of submissions (import)")
    parser.add_argument("--lms", choices=LMS_NAMES, help="the LMS that named the files (import)")
    parser.add_argument("--lab", help="the lab every notebook of the zip is for (default: from file names)")
    parser.add_argument("--roster", type=Path, help="CSV with columns student_id, lms_id")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        roster = read_roster(args.roster)
        if args.step == "import":
            if args.zip is None or args.lms is None:
                parser.error("import needs --zip and --lms")
            report = import_zip(root, args.zip, args.lms, args.lab, roster)
            print(report.describe())
            if report.unplaced:
                print(f"unplaced files and their reasons: unplaced/{args.zip.stem}/report.csv")
        else:
            wide, feedback = export(root, roster)
            print(f"wrote {wide.relative_to(root)} and {len(feedback)} feedback file(s) in lms/feedback/")
    except (ValueError, FileNotFoundError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
