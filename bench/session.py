"""A student's session, replayed in a real browser: how much memory the labs take as Binder counts it.

    python bench/session.py [--lab LAB ...] [--scale lesson|smoke] [--out bench/session] [--timeout S]

What a student does on Binder, one lab after the other: `make publish` builds the student repository
into a temporary folder (the released labs, `jupyter-config/`, `jupyter-data/`), the reference
answers are typed into every lab (a student who did the exercises), and the student repository's own
`make lab` serves it (its `.venv` is this environment, linked). Headless Chromium (Debian's
`/usr/bin/chromium`, driven by Playwright from PyPI; no browser download) opens lab N, runs *Run All
Cells*, waits for the last cell, closes the lab's tab (the student settings shut its kernel down) and
opens lab N+1. Every 0.25 s a sampler reads the server's process tree (the server and every kernel;
the browser is not counted: on Binder it runs on the student's computer):

- each kernel's RSS; its peak is the lab's *kernel peak RSS* (what `make bench` reports);
- the session's PSS: the sum of `Pss` in `/proc/<pid>/smaps_rollup` over the server and its kernels,
  so that TensorFlow's shared pages count once, as Binder's memory limit (a cgroup) counts them.

Writes ``<out>.json`` and ``<out>.md``: per lab the wall time of Run All, the kernel's peak RSS, the
session's peak PSS while the lab was open (and whether a kernel of an earlier lab was still alive),
errors, and the figures the lab recorded with ``seqlab.record``; and the session's peak PSS overall.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
import psutil  # noqa: E402

from seqlab.bench import machine  # noqa: E402
from seqlab.grading import course, publish  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
BINDER_MEM_LIMIT = 2 * 1024**3  # what mybinder.org puts in MEM_LIMIT; the memory indicator shows it
MIB = 2**20


def pss_bytes(pid: int) -> Optional[int]:
    """The process's proportional set size (shared pages divided among their sharers), or None."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class Sampler(threading.Thread):
    """Samples the server's process tree; peaks per lab (the lab open when a sample was taken)."""

    def __init__(self, root_pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.root, self.interval = psutil.Process(root_pid), interval
        self.lab: Optional[str] = None
        self.kernel_lab: dict[int, str] = {}      # kernel pid -> the lab open when it was first seen
        self.kernel_peak: dict[int, int] = {}     # kernel pid -> peak RSS
        self.session_peak: dict[str, int] = {}    # lab -> the session's peak PSS while it was open
        self.kernels_seen: dict[str, int] = {}    # lab -> most kernels alive at once while it was open
        self.overall_peak = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        total, kernels = 0, 0
        for proc in procs:
            try:
                pss = pss_bytes(proc.pid)
                rss = proc.memory_info().rss
                cmdline = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            total += pss if pss is not None else rss
            if "ipykernel_launcher" in cmdline:
                kernels += 1
                if self.lab is not None:
                    self.kernel_lab.setdefault(proc.pid, self.lab)
                self.kernel_peak[proc.pid] = max(self.kernel_peak.get(proc.pid, 0), rss)
        self.samples += 1
        self.overall_peak = max(self.overall_peak, total)
        if self.lab is not None:
            self.session_peak[self.lab] = max(self.session_peak.get(self.lab, 0), total)
            self.kernels_seen[self.lab] = max(self.kernels_seen.get(self.lab, 0), kernels)

    def kernel_peak_of(self, lab: str) -> Optional[int]:
        peaks = [self.kernel_peak[pid] for pid, seen in self.kernel_lab.items() if seen == lab]
        return max(peaks) if peaks else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def student_tree(folder: Path, labs: list[str]) -> Path:
    """The student repository with the reference answers typed into every lab."""
    out = folder / "seqlab-student"
    publish.publish(out, labs=labs)
    for lab in labs:
        path = out / "labs" / lab / f"{lab}.ipynb"
        source = nbformat.read(ROOT / "source" / lab / f"{lab}.ipynb", as_version=4)
        nbformat.write(course.solved_notebook(source, nbformat.read(path, as_version=4)), path)
    return out


class Server:
    """The student tree's ``make lab`` on a free port with a token, as Binder would run it."""

    def __init__(self, tree: Path, home: Path, scale: str, metrics: Path):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        (home / "config").mkdir(parents=True)
        (home / "config" / "jupyter_server_config.json").write_text(json.dumps({
            "ServerApp": {"port": self.port, "ip": "127.0.0.1", "open_browser": False,
                          "allow_root": os.geteuid() == 0},
            "IdentityProvider": {"token": self.token}}))
        venv = Path(os.environ.get("VIRTUAL_ENV") or Path(sys.executable).parents[1])
        (tree / ".venv").symlink_to(venv)
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
               "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
               "PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])]),
               "SEQLAB_SCALE": scale, "SEQLAB_METRICS": str(metrics), "MEM_LIMIT": str(BINDER_MEM_LIMIT)}
        env.pop("JUPYTER_CONFIG_PATH", None)
        env.pop("PYTEST_CURRENT_TEST", None)  # ipykernel would not forward C-level stderr into the cells
        self.log = home / "server.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(["make", "-o", ".venv/.installed", "lab"], cwd=tree, env=env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the student's JupyterLab stopped:\n" + self.log.read_text())
                time.sleep(0.5)
        raise RuntimeError("the student's JupyterLab did not start:\n" + self.log.read_text())

    def api(self, path: str):
        return json.load(urllib.request.urlopen(f"{self.base}/api/{path}?token={self.token}", timeout=10))

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def _menu_item(page, menu: str, item: str) -> None:
    page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
    page.locator(f".lm-Menu .lm-Menu-itemLabel:text-is('{item}')").click()


def run_lab(page, server: Server, sampler: Sampler, lab: str, timeout: float) -> dict:
    """Open ``lab``, Run All, wait for its last cell, close its tab; what it took."""
    path = f"{lab}/{lab}.ipynb"
    sampler.lab = lab
    page.goto(f"{server.base}/lab/workspaces/session/tree/{path}?token={server.token}")
    page.wait_for_function(
        "p => document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')?.title.includes(p)",
        arg=path, timeout=120_000)
    deadline = time.monotonic() + 180
    while not any(s["path"] == path and s["kernel"]["execution_state"] == "idle" for s in server.api("sessions")):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{lab}: no idle kernel after 180 s")
        time.sleep(0.5)
    panel = page.locator(".jp-NotebookPanel:visible")
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    start = time.perf_counter()
    _menu_item(page, "Run", "Run All Cells")
    # Done: the first code cell has run and no cell is queued or running ([*]) any more.
    page.wait_for_function(
        """() => {
            const p = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')];
            return p.length && /\\[\\d+\\]/.test(p[0].textContent) && !p.some(e => e.textContent.includes('*'));
        }""", timeout=timeout * 1000, polling=1000)
    wall = time.perf_counter() - start
    # textContent, not innerText: JupyterLab skips rendering the cells out of view (content-visibility),
    # and their innerText is empty.
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").all_text_contents()
    ran = sum(1 for text in prompts.all_text_contents() if any(ch.isdigit() for ch in text))
    cells = prompts.count()
    _menu_item(page, "File", "Close Tab")
    discard = page.locator(".jp-Dialog button:has-text('Discard'), .jp-Dialog button:has-text(\"Don't Save\")")
    try:
        discard.first.click(timeout=10_000)
    except Exception:  # no "Save changes?" dialog
        pass
    deadline = time.monotonic() + 60
    while any(s["path"] == path for s in server.api("sessions")) and time.monotonic() < deadline:
        time.sleep(0.5)
    kernel_stopped = not any(s["path"] == path for s in server.api("sessions"))
    time.sleep(2)  # the memory of the closed lab's kernel is given back
    sampler.sample()
    sampler.lab = None
    return {"wall_s": round(wall, 1), "code_cells": cells, "cells_run": ran,
            "errors": [e.strip().splitlines()[-1] for e in errors if e.strip()],
            "kernel_stopped_on_close": kernel_stopped}


def replay(labs: list[str], scale: str, timeout: float) -> dict:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="seqlab-session-"))
    results: dict = {"scale": scale, "machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M"),
                     "labs": {}}
    server = sampler = None
    try:
        tree = student_tree(folder, labs)
        metrics = folder / "metrics.json"
        server = Server(tree, folder / "home", scale, metrics)
        sampler = Sampler(server.process.pid)
        sampler.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{server.base}/lab/workspaces/session?token={server.token}")
            page.wait_for_selector(".jp-Launcher", timeout=120_000)
            sampler.sample()
            results["idle_server_pss_mib"] = round(sampler.overall_peak / MIB, 1)
            for lab in labs:
                metrics.unlink(missing_ok=True)
                print(f"{lab}: Run All at {scale} scale ...", flush=True)
                row = run_lab(page, server, sampler, lab, timeout)
                peak = sampler.kernel_peak_of(lab)
                row.update(kernel_peak_rss_mib=round(peak / MIB, 1) if peak else None,
                           session_peak_pss_mib=round(sampler.session_peak.get(lab, 0) / MIB, 1),
                           most_kernels_at_once=sampler.kernels_seen.get(lab, 0),
                           metrics=json.loads(metrics.read_text()) if metrics.exists() else {})
                results["labs"][lab] = row
                print(f"  {row['wall_s']} s, {row['cells_run']}/{row['code_cells']} code cells run, kernel peak RSS {row['kernel_peak_rss_mib']} MiB, session peak "
                      f"PSS {row['session_peak_pss_mib']} MiB, errors {row['errors'] or 'none'}", flush=True)
            browser.close()
        results["session_peak_pss_mib"] = round(sampler.overall_peak / MIB, 1)
        results["samples"] = sampler.samples
    finally:
        if sampler is not None:
            sampler.stop()
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return results


def markdown(results: dict) -> str:
    lines = [f"# A student's session, replayed (`make bench-session`, {results['scale']} scale)", "",
             f"{results['when']}, {results['machine']}. Session peak PSS (server + kernels, shared pages "
             f"counted once) over the whole replay: **{results['session_peak_pss_mib']} MiB**; the idle "
             f"server: {results['idle_server_pss_mib']} MiB. Binder's limit: {BINDER_MEM_LIMIT // MIB} MiB.", "",
             "| lab | Run All (s) | kernel peak RSS (MiB) | session peak PSS (MiB) | kernels at once | "
             "kernel stopped on close | cells run | errors |",
             "|---|---:|---:|---:|---:|---|---:|---|"]
    for lab, r in results["labs"].items():
        lines.append(f"| {lab} | {r['wall_s']} | {r['kernel_peak_rss_mib']} | {r['session_peak_pss_mib']} | "
                     f"{r['most_kernels_at_once']} | {'yes' if r['kernel_stopped_on_close'] else 'NO'} | "
                     f"{r['cells_run']}/{r['code_cells']} | {'; '.join(r['errors']) or 'none'} |")
    lines.append("")
    for lab, r in results["labs"].items():
        if r["metrics"]:
            lines += [f"## {lab}", "", "| metric | value |", "|---|---|"]
            lines += [f"| {k} | {json.dumps(v) if isinstance(v, (dict, list)) else v} |"
                      for k, v in sorted(r["metrics"].items())]
            lines.append("")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", action="append", dest="labs", metavar="LAB",
                        help="replay only these labs, in this order (default: every released lab)")
    parser.add_argument("--scale", choices=("lesson", "smoke"), default="lesson")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "session",
                        help="write <out>.json and <out>.md (default bench/session)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a lab's Run All may take")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"bench/session.py needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        print("bench/session.py needs Playwright (pip install playwright; never `playwright install`)",
              file=sys.stderr)
        return 2
    labs = args.labs or publish.released_labs(ROOT)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and its kernels on the way out
    results = replay(labs, args.scale, args.timeout)
    results["python"] = platform.python_version()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
