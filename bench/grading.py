"""What grading a class costs, and what Dask buys: one class graded five ways, back to back.

    make bench-grading      (python bench/grading.py [--lab LAB ...] [--only RUN ...] [--keep DIR])

A throw-away course releases the labs and gets a class of five students per lab: the reference
solutions twice (``ref-1``, ``ref-2``), the blank release twice (``blank-1``, ``blank-2``: the demo
class twice over) and one mistake from ``tests/mutants/`` (``mutant``: the first of each lab's list,
typed into the reference). 7 labs: 35 submissions. Each run gets a fresh copy of that course (same
files, no gradebook, no grades; its labs released, as a course is when its students hand in) and
is timed as an instructor would see it, command start to exit:

- ``before``: ``python -m seqlab.grading`` of commit 69986cb, the engine before this issue
  (one submission after the other, the whole course's nbgrader per submission; its kernels are
  given PYTHONPATH and may read that commit's folder, so that they import its seqlab helpers);
- ``serial``: today's ``make grade WORKERS=0`` (each submission a self-contained task, in-process);
- ``workers-1`` / ``workers-2``: ``make grade WORKERS=1`` / ``WORKERS=2`` (a local Dask cluster);
- ``plain``: every submitted notebook executed with nbclient, no grading, no confinement, one
  after the other, as nbval would: what grading adds is measured against this;
- ``plain-2``: the same, by two processes taking the next notebook as they finish, each kernel
  single-threaded as a Dask worker's is: what two cores give two plain executions on this machine,
  the ceiling against which ``workers-2`` is read.

Writes ``bench/grading.json`` and ``bench/grading.md``: wall, seconds per submission, submissions per
minute, speed-up against ``serial``, overhead against ``plain``, the seconds each phase of the tasks
took (summed over submissions, from ``grading.log``), the load average the machine had
during each run, whether each run's grades.csv is identical to the serial run's, and a projection for
500 students x 7 labs on 8, 32 and 128 workers from the measured per-submission cost.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402

from seqlab.grading import confine  # noqa: E402
from seqlab.grading.batch import thread_share  # noqa: E402
from seqlab.grading.course import api_for, generate_release, labs_in  # noqa: E402

BEFORE = "69986cb"
RUNS = ("before", "serial", "workers-1", "workers-2", "plain", "plain-2")
#: What a course keeps under autograded/ from its hand-out: the release stamp (``make release`` /
#: ``make grade`` re-release a lab only when its source changed). Grades and the ledger go.
RELEASE_STAMP = ".seqlab-release.json"
STUDENTS = ("ref-1", "ref-2", "blank-1", "blank-2", "mutant")
#: grades.csv columns that must agree between runs (not how long a submission took).
COMPARED = ("student", "lab", "score", "max_score", "status")


def write_class(course: Path, labs: list[str]) -> int:
    """Release ``labs`` in ``course`` and write the bench's five students; returns the submissions."""
    import harness

    generate_release(course, labs, api_for(course))
    count = 0
    for lab in labs:
        solved = harness.solved(lab)
        blank = harness.release_nb(lab)
        mutant = importlib.import_module(f"mutants.lab{lab[:2]}").MUTANTS[0]
        notebooks = {"ref-1": solved, "ref-2": solved, "blank-1": blank, "blank-2": blank,
                     "mutant": harness.with_answer(solved, mutant["cell"], mutant["source"])}
        for student, nb in notebooks.items():
            folder = course / "submitted" / student / lab
            folder.mkdir(parents=True)
            for extra in (course / "release" / lab).iterdir():  # data files shipped with the lab
                if extra.name != f"{lab}.ipynb" and extra.is_file():
                    shutil.copy(extra, folder)
            nbformat.write(nb, folder / f"{lab}.ipynb")
            count += 1
    return count


def fresh_copy(template: Path, where: Path) -> Path:
    # The template's gradebook holds its released labs and no student: a course at hand-in time.
    shutil.copytree(template, where, ignore=shutil.ignore_patterns("autograded", "feedback"))
    if (template / "autograded" / RELEASE_STAMP).exists():
        (where / "autograded").mkdir()
        shutil.copy(template / "autograded" / RELEASE_STAMP, where / "autograded")
    return where


class Load:
    """The 1-minute load average, sampled every 5 s while a run lasts."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def sample(self) -> None:
        self.samples.append(os.getloadavg()[0])

    @property
    def mean(self) -> float:
        return round(sum(self.samples) / len(self.samples), 2) if self.samples else os.getloadavg()[0]


def timed(command: list[str], env: dict, cwd: Path, log: Path) -> tuple[float, int, float]:
    """Run ``command`` to its end; (wall seconds, exit code, mean load average)."""
    load = Load()
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            load.sample()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    return time.perf_counter() - start, proc.returncode, load.mean


def grade_run(name: str, template: Path, tmp: Path, env: dict) -> dict:
    course = fresh_copy(template, tmp / name / "course")
    python = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").is_dir() else sys.executable
    command = [python, "-m", "seqlab.grading", "--root", str(course)]
    run_env = dict(env)
    if name == "before":
        engine = tmp / "engine-before"
        if not engine.exists():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(engine), BEFORE],
                           check=True, capture_output=True)
            # Its kernels must import the seqlab helpers from where its sandbox lets them read
            # (the engine's own folder), not from the editable install of today's checkout.
            # Two one-line changes to its confine.py, neither in what it costs: keep PYTHONPATH, and
            # let the kernel read the folder PYTHONPATH names (Landlock refuses a listing otherwise).
            confine_py = engine / "seqlab" / "grading" / "confine.py"
            text = confine_py.read_text()
            patched = text.replace('KEPT_ENV = ("PATH",', 'KEPT_ENV = ("PATH", "PYTHONPATH",').replace(
                "paths.add(str(Path(seqlab.__file__).resolve().parent))",
                "paths.add(str(Path(seqlab.__file__).resolve().parent.parent))")
            assert patched.count("PYTHONPATH") == text.count("PYTHONPATH") + 1 and "parent.parent" in patched
            confine_py.write_text(patched)
        run_env["PYTHONPATH"] = str(engine)  # ahead of the editable install of today's seqlab
        # ...and its own nbgrader settings (today's name preprocessors that commit does not have).
        shutil.copy(engine / "nbgrader_config.py", course / "nbgrader_config.py")
    else:
        command += ["--workers", {"serial": "0", "workers-1": "1", "workers-2": "2"}[name]]
    wall, code, load = timed(command, run_env, tmp / name, tmp / name / "grade.log")
    rows = read_grades(course / "grades.csv")
    return {"run": name, "wall_s": round(wall, 1), "exit": code, "load": load, "grades": rows,
            "phases_s": phases(course / "grading.log")}


def phases(log: Path) -> dict[str, float]:
    """Seconds spent in each phase of the submissions' tasks, summed (``grading.log``'s ``---`` lines)."""
    total: dict[str, float] = {}
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("--- ") and "{" in line:
                seconds = line[line.index("{"):line.index("}") + 1]
                cpu = line[line.index(" cpu {") + 5:line.rindex("}") + 1] if " cpu {" in line else "{}"
                for prefix, part in (("", seconds), ("cpu_", cpu)):
                    for key, value in json.loads(part).items():
                        total[prefix + key] = round(total.get(prefix + key, 0.0) + value, 1)
    return total


PLAIN = (
    "import sys, nbformat\n"
    "from concurrent.futures import ProcessPoolExecutor\n"
    "from nbclient import NotebookClient\n"
    "from pathlib import Path\n"
    "def execute(path):\n"
    "    path = Path(path)\n"
    "    nb = nbformat.read(path, as_version=4)\n"
    "    NotebookClient(nb, timeout=600, kernel_name='python3', allow_errors=True,\n"
    "                   resources={'metadata': {'path': str(path.parent)}}).execute()\n"
    "if __name__ == '__main__':\n"
    "    processes, notebooks = int(sys.argv[1]), sys.argv[2:]\n"
    "    if processes == 1:\n"
    "        list(map(execute, notebooks))\n"
    "    else:\n"
    "        with ProcessPoolExecutor(processes) as pool:\n"
    "            list(pool.map(execute, notebooks, chunksize=1))\n"
)


def plain_run(name: str, template: Path, tmp: Path, env: dict) -> dict:
    """Each submitted notebook executed as nbval would: a kernel per notebook, every cell, no grading."""
    course = fresh_copy(template, tmp / name / "course")
    notebooks = sorted(str(p) for p in (course / "submitted").glob("*/*/*.ipynb"))
    processes = 2 if name == "plain-2" else 1
    run_env = dict(env)
    if processes > 1:  # as make grade gives each of N local workers
        run_env.update(thread_share(processes))
    (tmp / name / "plain.py").write_text(PLAIN)
    wall, code, load = timed([sys.executable, str(tmp / name / "plain.py"), str(processes), *notebooks], run_env,
                             tmp / name, tmp / name / "run.log")
    return {"run": name, "wall_s": round(wall, 1), "exit": code, "load": load, "grades": None}


def read_grades(path: Path) -> list[dict] | None:
    if not path.exists():
        return None
    with open(path) as f:
        return sorted(({k: row.get(k) for k in COMPARED} for row in csv.DictReader(f)),
                      key=lambda r: (r["student"], r["lab"]))


def table(runs: list[dict], submissions: int) -> list[dict]:
    by = {r["run"]: r for r in runs}
    serial, plain = by.get("serial"), by.get("plain")
    rows = []
    for r in runs:
        row = {"run": r["run"], "wall_s": r["wall_s"], "s_per_submission": round(r["wall_s"] / submissions, 2),
               "submissions_per_min": round(60 * submissions / r["wall_s"], 2), "load_avg": r["load"],
               "exit": r["exit"]}
        for phase, seconds in (r.get("phases_s") or {}).items():  # summed over submissions (on all workers)
            row[f"{phase}_s"] = seconds
        if serial:
            row["speed_up_vs_serial"] = round(serial["wall_s"] / r["wall_s"], 2)
        if plain and r["run"] == "plain-2":
            row["plain_2_vs_plain"] = round(plain["wall_s"] / r["wall_s"], 2)
        if plain and not r["run"].startswith("plain"):
            row["overhead_vs_plain"] = f"{100 * (r['wall_s'] - plain['wall_s']) / plain['wall_s']:+.0f} %"
        if r["grades"] is not None and serial and serial["grades"] is not None:
            row["grades_csv_as_serial"] = r["grades"] == serial["grades"]
        rows.append(row)
    return rows


def projection(runs: list[dict], submissions: int) -> list[dict]:
    """500 students x 7 labs: per-submission cost of one single-threaded worker, spread over N."""
    by = {r["run"]: r for r in runs}
    if "workers-1" not in by:
        return []
    per_worker = by["workers-1"]["wall_s"] / submissions  # seconds of one worker per submission
    efficiency = 1.0
    if "workers-2" in by:  # what the second worker added here, kept as the cluster's efficiency
        efficiency = min(1.0, by["workers-1"]["wall_s"] / by["workers-2"]["wall_s"] / 2)
    total = 500 * 7
    return [{"workers": n, "hours": round(total * per_worker / (n * efficiency) / 3600, 2),
             "assumes": f"{per_worker:.1f} s per submission per worker, {efficiency:.0%} efficiency"}
            for n in (8, 32, 128)]


def md_table(rows: list[dict]) -> list[str]:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]


def markdown(rows: list[dict], proj: list[dict], meta: dict) -> str:
    lines = [f"# make bench-grading — {meta['when']}", "",
             f"{meta['submissions']} submissions ({', '.join(STUDENTS)} x {len(meta['labs'])} labs), "
             f"{meta['machine']}", "", *md_table(rows), ""]
    if proj:
        lines += ["Projection for 500 students x 7 labs (3,500 submissions):", "", *md_table(proj), ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", action="append")
    parser.add_argument("--only", action="append", choices=RUNS, help="run only these (repeatable)")
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "grading.json")
    args = parser.parse_args()
    state = confine.status()
    if not state.confined:
        print(f"warning: grading here runs UNCONFINED:\n{state.describe()}", file=sys.stderr)
    labs = args.lab or labs_in(ROOT)
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="seqlab-bench-grading-"))
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SEQLAB_SCALE": "smoke"}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    template = tmp / "class" / "course"
    if not template.exists():
        import harness

        shutil.copytree(harness.make_course(tmp / "class-source", labs), template)
        submissions = write_class(template, labs)
    else:
        submissions = len(list((template / "submitted").glob("*/*")))
    for path in (template / "autograded").glob("*"):  # an earlier --keep run's grades; the stamp stays
        if path.name != RELEASE_STAMP:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    print(f"{submissions} submissions in {template}")

    runs = []
    try:
        for name in args.only or RUNS:
            (tmp / name).mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp / name / "course", ignore_errors=True)
            print(f"{name} ...", end=" ", flush=True)
            run = plain_run(name, template, tmp, env) if name.startswith("plain") else grade_run(name, template, tmp, env)
            print(f"{run['wall_s']} s (exit {run['exit']}, load {run['load']})", flush=True)
            runs.append(run)
    finally:
        if (tmp / "engine-before").exists():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "engine-before")],
                           capture_output=True)
    rows, proj = table(runs, submissions), projection(runs, submissions)
    meta = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "labs": labs, "submissions": submissions,
            "machine": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "before": BEFORE, "workdir": str(tmp)}
    serial = next((r["grades"] for r in runs if r["run"] == "serial"), None)
    differences = {r["run"]: [row for row in r["grades"] if row not in serial] + [row for row in serial if row not in r["grades"]]
                   for r in runs if r["grades"] is not None and serial is not None}
    args.out.write_text(json.dumps({**meta, "table": rows, "projection": proj,
                                    "differences_from_serial": differences,
                                    "grades": {r["run"]: r["grades"] for r in runs}}, indent=1) + "\n")
    text = markdown(rows, proj, meta)
    args.out.with_suffix(".md").write_text(text)
    print(text)
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
