"""What confinement costs: the demo class graded confined and unconfined, submission by submission.

    make bench-confinement          (python bench/confinement.py [--lab LAB ...])

A throw-away copy of the course releases every lab and writes the demo class (reference solutions
and blank release); each submission is then graded twice in a row by `make grade`'s own
``grade_one``, confined and with ``--unconfined``, alternating which goes first, so that both see
the same machine. Writes ``bench/confinement.json`` (seconds and every test cell's score of each
run) and prints a table with the ratio. The scores must be identical: confinement may cost time,
never points.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seqlab.grading import confine  # noqa: E402
from seqlab.grading.autograde import grade_one  # noqa: E402
from seqlab.grading.course import (DEMO_STUDENTS, api_for, generate_release, labs_in,  # noqa: E402
                                   write_demo_class)


def scores(api, lab: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url) as gb:
        sub = gb.find_submission(lab, student)
        return {g.name: g.score for nb in sub.notebooks for g in nb.grades}


def grade(api, course: Path, student: str, lab: str, release, unconfined: bool) -> tuple[float, dict, bool]:
    if unconfined:
        os.environ[confine.UNCONFINED_ENV] = "1"
    else:
        os.environ.pop(confine.UNCONFINED_ENV, None)
    start = time.perf_counter()
    result = grade_one(course, api, student, lab, release)
    seconds = time.perf_counter() - start
    return seconds, scores(api, lab, student) if result.ok else {}, result.ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", action="append")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "confinement.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    os.environ.setdefault("SEQLAB_SCALE", "smoke")
    state = confine.status()
    if not state.confined:
        print(f"this machine cannot confine a kernel:\n{state.describe()}", file=sys.stderr)
        return 2
    labs = args.lab or labs_in(ROOT)
    tmp = Path(tempfile.mkdtemp(prefix="seqlab-bench-confinement-"))
    course = tmp / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for lab in labs:
        shutil.copytree(ROOT / "source" / lab, course / "source" / lab)
    api = api_for(course)
    os.chdir(tmp)
    generate_release(course, labs, api)
    write_demo_class(course, labs)
    releases = {lab: nbformat.read(course / "release" / lab / f"{lab}.ipynb", as_version=4) for lab in labs}

    rows = []
    print(f"confinement: {state.mode}\n{state.describe()}\n")
    print(f"{'submission':42} {'confined s':>10} {'unconfined s':>12} {'ratio':>6}  same scores")
    for i, (lab, student) in enumerate((lab, s) for lab in labs for s in DEMO_STUDENTS):
        runs = {}
        for unconfined in ((False, True) if i % 2 == 0 else (True, False)):
            runs["unconfined" if unconfined else "confined"] = grade(api, course, student, lab, releases[lab], unconfined)
        (c_s, c_scores, c_ok), (u_s, u_scores, u_ok) = runs["confined"], runs["unconfined"]
        same = c_ok and u_ok and c_scores == u_scores
        rows.append({"lab": lab, "student": student, "confined_s": round(c_s, 2), "unconfined_s": round(u_s, 2),
                     "confined_scores": c_scores, "unconfined_scores": u_scores, "same_scores": same})
        print(f"{student + '/' + lab:42} {c_s:10.1f} {u_s:12.1f} {c_s / u_s:6.2f}  {same}", flush=True)
    total_c = sum(r["confined_s"] for r in rows)
    total_u = sum(r["unconfined_s"] for r in rows)
    print(f"{'total':42} {total_c:10.1f} {total_u:12.1f} {total_c / total_u:6.2f}  "
          f"{all(r['same_scores'] for r in rows)}")
    report = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
              "confinement": state.mode, "landlock_abi": state.landlock_abi,
              "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "scale": os.environ["SEQLAB_SCALE"],
              "total_confined_s": round(total_c, 1), "total_unconfined_s": round(total_u, 1),
              "ratio": round(total_c / total_u, 3), "all_same_scores": all(r["same_scores"] for r in rows),
              "submissions": rows}
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if report["all_same_scores"] else 1


if __name__ == "__main__":
    sys.exit(main())
