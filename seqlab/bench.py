"""``make bench``: execute every source notebook at lesson scale and record what it cost.

    python -m seqlab.bench [--lab LAB ...] [--scale lesson|smoke] [--out bench]

For each notebook, in a fresh process: wall time, peak RSS of the kernel (the largest
process the run waited for) and every metric the notebook passed to ``seqlab.record``. The kernel
runs with the student kernel spec's environment (:data:`STUDENT_KERNEL`), so that the figures are
what a student's kernel costs.
Writes ``bench/results.json`` (merged with earlier runs of other labs) and
``bench/results.md``; the executed notebooks land in ``bench/executed/`` (git-ignored) so
their plots can be looked at.

A lab may have a companion ``bench/baselines/<lab>.ipynb``: a reference configuration too slow to
belong in the lab itself (e.g. a seed course's original settings). It runs right after the lab,
in the same bench run and on the same machine, and is recorded as ``<lab>.baseline``, so that
the lab's figures can be quoted as a ratio against it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from .grading.course import labs_in

#: The kernel spec students get (``make lab``, Binder): its ``env`` is set for the bench's kernels too.
STUDENT_KERNEL = Path(__file__).resolve().parents[1] / "student" / "jupyter-data" / "kernels" / "python3" / "kernel.json"


def run_one(notebook: Path, executed: Path, timeout: int) -> dict:
    """Execute ``notebook`` in this process's kernel child; return time, RSS and metrics."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        metrics_path = Path(tmp) / "metrics.json"
        os.environ["SEQLAB_METRICS"] = str(metrics_path)
        os.environ.update(json.loads(STUDENT_KERNEL.read_text()).get("env", {}))
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(notebook.parent)}})
        start = time.perf_counter()
        error = None
        try:
            client.execute()
        except Exception as exc:  # report, keep what ran
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        wall = time.perf_counter() - start
        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    executed.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed)
    # The kernel is our child; once it has been waited for, RUSAGE_CHILDREN's ru_maxrss is the
    # peak resident set of the largest child (KiB on Linux).
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # "peak_rss_mb" holds MiB (2**20 bytes; 2 GB = 1,907 MiB): the key predates the label's fix.
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(peak_kib / 1024, 1),
            "error": error, "metrics": metrics}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def markdown(results: dict) -> str:
    lines = ["# Benchmarks (`make bench`)", "",
             "| lab | scale | wall (s) | peak RSS (MiB) | status | when | machine |",
             "|---|---|---:|---:|---|---|---|"]
    for lab, r in sorted(results.items()):
        lines.append(f"| {lab} | {r['scale']} | {r['wall_s']} | {r['peak_rss_mb']} | "
                     f"{'ok' if not r['error'] else r['error']} | {r['when']} | {r['machine']} |")
    for lab, r in sorted(results.items()):
        if r["metrics"]:
            lines += ["", f"## {lab}", "", "| metric | value |", "|---|---|"]
            for k, v in sorted(r["metrics"].items()):
                lines.append(f"| {k} | {json.dumps(v) if not isinstance(v, (int, float, str)) else v} |")
    return "\n".join(lines) + "\n"


def notebooks(root: Path, labs: list[str]) -> list[tuple[str, Path]]:
    """``(name, path)`` of each lab's notebook, each followed by its baseline if it has one."""
    out = []
    for lab in labs:
        out.append((lab, root / "source" / lab / f"{lab}.ipynb"))
        baseline = root / "bench" / "baselines" / f"{lab}.ipynb"
        if baseline.is_file():
            out.append((f"{lab}.baseline", baseline))
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--lab", action="append", help="only this lab (repeatable)")
    parser.add_argument("--scale", default="lesson", choices=["lesson", "smoke"])
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument("--timeout", type=int, default=1800, help="per-cell limit, seconds")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: run one notebook
    parser.add_argument("--executed", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:  # child process: execute one notebook, print its JSON
        print(json.dumps(run_one(args.one, args.executed, args.timeout)))
        return 0

    root = args.root.resolve()
    out = (root / args.out) if not args.out.is_absolute() else args.out
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    env = dict(os.environ, SEQLAB_SCALE=args.scale)
    env.pop("NBGRADER_EXECUTION", None)
    failed = 0
    for lab, notebook in notebooks(root, args.lab or labs_in(root)):
        print(f"[bench] {lab} at {args.scale} scale ...", flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", "seqlab.bench", "--one", str(notebook),
             "--executed", str(out / "executed" / f"{lab}.ipynb"), "--timeout", str(args.timeout)],
            env=env, cwd=root, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            failed += 1
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r.update(scale=args.scale, when=time.strftime("%Y-%m-%d %H:%M"), machine=machine())
        results[lab] = r
        failed += bool(r["error"])
        print(f"[bench] {lab}: {r['wall_s']} s, peak RSS {r['peak_rss_mb']} MiB"
              f"{', ERROR ' + r['error'] if r['error'] else ''}")
        for k, v in sorted(r["metrics"].items()):
            print(f"    {k}: {v}")
        results_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        (out / "results.md").write_text(markdown(results))
    print(f"[bench] wrote {results_path} and {out / 'results.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
