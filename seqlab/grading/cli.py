"""``make grade``: release every lab from ``source/`` and autograde ``submitted/``, offline.

    python -m seqlab.grading [--root DIR] [--lab LAB ...] [--release-only] [--cell-timeout S]
                             [--submission-timeout S] [--unconfined]
                             [--workers N | --scheduler tcp://host:8786] [--force]

1. The machine's confinement is checked (:mod:`.confine`): without namespaces or Landlock the
   grader says so and refuses to grade, unless ``--unconfined`` is passed.
2. ``release/<lab>/`` is regenerated from ``source/<lab>/`` (``nbgrader generate_assignment``).
3. Every ``submitted/<student>/<lab>/`` not yet graded as it is now is a self-contained task
   (:mod:`.task`), graded on a local Dask cluster (``--workers N``, default: one per core), on an
   existing one (``--scheduler``) or in this process (``--workers 0``) (:mod:`.batch`): checked and,
   where safe, repaired (:mod:`.preflight`), then autograded on its own in a confined kernel
   (:mod:`.autograde`), so one broken or hostile submission never stops the batch nor touches
   another. Results are merged into the gradebook as they come; Ctrl-C keeps them, and the next
   run grades only what is left (``--force``: everything again).
4. When ``submitted/`` holds no real student, a built-in demo class is graded instead:
   ``demo-solutions`` (the reference solutions, written into the release notebook as a student
   would) and ``demo-blank`` (the untouched release).
5. ``grades.csv`` is written at the course root, feedback HTML (without hidden tests) under
   ``feedback/``, and a table and a summary (graded, repaired, failed with reasons) are printed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Optional

from . import confine
from .autograde import award_reference_answers, feedback
from .batch import Interrupted, default_workers, grade_class
from .course import DEMO_BLANK, DEMO_SOLUTIONS, DEMO_STUDENTS, api_for, generate_release, labs_in, students_in, write_demo_class
from .results import collect, format_table, summary, write_csv

BANNER = "!" * 78


def check_confinement(allow_unconfined: bool) -> bool:
    """Print what confines the kernels; False when grading must not go on."""
    state = confine.status()
    if allow_unconfined:
        os.environ[confine.UNCONFINED_ENV] = "1"
        print("\n".join([
            BANNER,
            "GRADING UNCONFINED (--unconfined): every submission runs with the grader's rights. It can",
            "read every answer and the gradebook, change other students' grades and reach the network.",
            "Only for submissions you trust. This machine offers:", state.describe(), BANNER]), flush=True)
        return True
    os.environ.pop(confine.UNCONFINED_ENV, None)
    if not state.confined:
        print("\n".join([
            BANNER, "REFUSING TO GRADE: this machine cannot confine a grading kernel.", state.describe(),
            f"Confinement needs unprivileged user namespaces with bubblewrap, or Landlock ABI >= {confine.MIN_ABI_ALONE}",
            "(Linux 6.12 or later). See the README, section 'Confinement'. To grade anyway, trusted",
            "submissions only: make grade UNCONFINED=1 (python -m seqlab.grading --unconfined)", BANNER]),
            file=sys.stderr)
        return False
    print(f"kernels confined ({state.mode}):\n{state.describe()}", flush=True)
    return True


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    parser.add_argument("--lab", action="append", help="grade only this lab (repeatable)")
    parser.add_argument("--release-only", action="store_true", help="only regenerate release/")
    parser.add_argument("--cell-timeout", type=int, help="per-cell limit in seconds (default: nbgrader_config.py)")
    parser.add_argument("--submission-timeout", type=float,
                        help="wall-clock limit of a whole submission, all its kernels together (default 900 s)")
    parser.add_argument("--unconfined", action="store_true",
                        help="grade without operating-system confinement (trusted submissions only)")
    parser.add_argument("--workers", type=int, default=None,
                        help="local Dask worker processes (default: one per core, memory allowing; 0: grade in this process)")
    parser.add_argument("--scheduler", help="grade on an existing Dask cluster (its scheduler's address)")
    parser.add_argument("--force", action="store_true", help="grade every submission again, changed or not")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    labs = args.lab or labs_in(root)
    # nbgrader's own SQLAlchemy usage warns on every autograde; it is not the instructor's problem.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")

    if args.submission_timeout:
        os.environ["SEQLAB_GRADING_WALL_S"] = str(args.submission_timeout)
    if not args.release_only and not check_confinement(args.unconfined):
        return 2
    api = api_for(root, {"Execute": {"timeout": args.cell_timeout}} if args.cell_timeout else None)
    # Grade from outside the course: the grader's working directory is an empty folder of its own.
    cwd, away = os.getcwd(), tempfile.mkdtemp(prefix="seqlab-grade-")
    os.chdir(away)
    try:
        workers = default_workers() if args.workers is None else args.workers
        return _release_and_grade(root, labs, api, args.release_only,
                                  dict(workers=workers, scheduler=args.scheduler, force=args.force,
                                       cell_timeout=args.cell_timeout))
    finally:
        os.chdir(cwd)
        shutil.rmtree(away, ignore_errors=True)


def _release_and_grade(root: Path, labs: list[str], api, release_only: bool, options: dict) -> int:
    if release_only:
        print(f"releasing {len(labs)} lab(s): {', '.join(labs)}")
        generate_release(root, labs, api)
        return 0
    released = generate_release(root, labs, api, only_changed=True)
    kept = len(labs) - len(released)
    print(f"released {len(released)} lab(s){': ' + ', '.join(released) if released else ''}"
          f"{f'; {kept} unchanged since last released' if kept else ''}")

    students = [s for s in students_in(root) if s not in DEMO_STUDENTS]
    demo = not students
    if demo:
        print("submitted/ holds no student: grading the demo class "
              f"({DEMO_SOLUTIONS}, {DEMO_BLANK})")
        write_demo_class(root, labs)
        students = list(DEMO_STUDENTS)
    print(f"autograding {len(students)} student(s) x {len(labs)} lab(s) ...", flush=True)
    try:
        results = grade_class(root, labs, students, api, **options)
    except Interrupted as stop:
        print(f"\ninterrupted: {stop}. Run make grade again to grade the rest "
              "(what is graded and unchanged is kept).", file=sys.stderr)
        return 130
    feedback_failures = []
    if demo:  # its written answers get full manual marks: its feedback is written again with them
        award_reference_answers(root, labs)
        feedback_failures = feedback(root, [r for r in results if r.student == DEMO_SOLUTIONS], api)

    rows = collect(root, results)
    write_csv(root / "grades.csv", rows)
    print()
    print(format_table(rows))
    print()
    print(summary(results, feedback_failures))
    try:  # the class report (seqlab.grading.report) reads what was just written; it never fails grading
        from .report import write_report
        print(f"class report: {write_report(root, labs)}")
    except Exception as exc:  # noqa: BLE001
        print(f"warning: no class report ({type(exc).__name__}: {exc}); make report retries", file=sys.stderr)
    return 1 if demo and any(not r.ok for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
