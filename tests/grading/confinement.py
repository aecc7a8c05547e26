"""Grade the attack class (attacks.py) with `make grade`'s engine and record what it changed.

Used by test_confinement.py (every layer this machine has) and test_confinement_landlock_only.py
(namespaces turned off: Landlock, limits and the supervisor alone).
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import attacks
import harness
from seqlab.grading import cli, confine, course as course_dir
from seqlab.grading.kernel import SandboxedKernelManager

LAB = attacks.LAB
#: What the grader itself writes while grading: everything else of the course must stay as it was.
# What the grader writes. submitted/ is not among them: repairs (the cell that stopped the kernel)
# are made in the grading task's scratch copy, never in the hand-in.
GRADER_OUTPUTS = ("gradebook.db", "grades.csv", "grading.log", "autograded/", "feedback/", "release/", "report/")


@dataclass
class Batch:
    mode: str
    course: Path
    code: int
    rows: dict
    scores: dict
    outputs: dict                       # {student: text the `secret` cell printed}
    changed: list                       # course files changed, added or removed, not by the grader
    gradebook_cells_changed: bool
    outside: list                       # files an attack left outside the course
    alive: list                         # processes of the attacks still alive after the batch
    kernels_left: list                  # private kernel folders not removed
    tcp: list = field(default_factory=list)
    udp: list = field(default_factory=list)
    seconds: float = 0.0


def tree(course: Path) -> dict[str, str]:
    """{relative path: sha256} of every file of the course the grader does not write."""
    out = {}
    for path in sorted(course.rglob("*")):
        rel = path.relative_to(course).as_posix()
        if path.is_file() and not rel.startswith(GRADER_OUTPUTS):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def gradebook_cells(course: Path) -> list:
    import sqlite3

    con = sqlite3.connect(f"file:{course / 'gradebook.db'}?mode=ro", uri=True)
    try:
        return sorted(con.execute("select name, source, checksum from source_cell").fetchall()) + \
            sorted(con.execute("select id, max_score from grade_cells").fetchall())
    finally:
        con.close()


class Listener:
    """A TCP and a UDP socket on loopback that record whatever reaches them."""

    def __init__(self) -> None:
        self.tcp_sock = socket.create_server(("127.0.0.1", 0))
        self.udp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp_sock.bind(("127.0.0.1", 0))
        self.tcp_port, self.udp_port = self.tcp_sock.getsockname()[1], self.udp_sock.getsockname()[1]
        self.tcp, self.udp = [], []
        self.stopped = False
        for target in (self._accept, self._receive):
            threading.Thread(target=target, daemon=True).start()

    def _accept(self) -> None:
        self.tcp_sock.settimeout(0.5)
        while not self.stopped:
            try:
                conn, addr = self.tcp_sock.accept()
                self.tcp.append(addr)
                conn.close()
            except OSError:
                pass

    def _receive(self) -> None:
        self.udp_sock.settimeout(0.5)
        while not self.stopped:
            try:
                self.udp.append(self.udp_sock.recvfrom(4096))
            except OSError:
                pass

    def close(self) -> None:
        self.stopped = True
        time.sleep(0.6)
        self.tcp_sock.close()
        self.udp_sock.close()


def processes_with(mark: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if mark.encode() in open(f"/proc/{pid}/cmdline", "rb").read():
                    found.append(int(pid))
            except OSError:
                pass
    return found


def secret_outputs(course: Path, student: str) -> str:
    path = course / "autograded" / student / LAB / f"{LAB}.ipynb"
    if not path.exists():
        return ""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "secret":
            return "".join(o.get("text", "") for o in cell.get("outputs", []))
    return ""


def grade_attacks(tmp: Path, mode: str, monkeypatch, workers: int = 0) -> Batch:
    """Grade every attack and the classmate in one batch, as `make grade` does, and record it all:
    in the grading process (``workers=0``) or on a local Dask cluster of ``workers`` processes."""
    if mode == "landlock-only":
        monkeypatch.setenv(confine.NO_NAMESPACES_ENV, "1")
    # This batch's kernel folders in a place of their own (tests on the other pytest worker grade
    # at the same time): the attackers are told where, and it must be empty afterwards.
    kernels = tmp / "kernels"
    kernels.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(kernels))
    monkeypatch.setenv("TMPDIR", str(kernels))  # the same for Dask's worker processes
    course = tmp / "course"
    (course / "source" / LAB).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text((harness.ROOT / "nbgrader_config.py").read_text())
    nbformat.write(attacks.source_notebook(), course / "source" / LAB / f"{LAB}.ipynb")
    course_dir.generate_release(course, [LAB])
    release = nbformat.read(course / "release" / LAB / f"{LAB}.ipynb", as_version=4)

    listener = Listener()
    subs = attacks.build(release, course=str(course), root=str(harness.ROOT), kernels=str(kernels),
                         port=listener.tcp_port, udp_port=listener.udp_port)
    for student, nb in subs.items():
        (course / "submitted" / student / LAB).mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / LAB / f"{LAB}.ipynb")
    before, cells_before = tree(course), gradebook_cells(course)
    outside = [f"{harness.ROOT}/pwned-{attacks.MARK}", os.path.expanduser(f"~/pwned-{attacks.MARK}"),
               f"/tmp/pwned-{attacks.MARK}"]

    # The classmate's notebook is also being graded right now, in a kernel of its own (as on a
    # cluster): its scratch copy must be out of the attackers' reach too.
    neighbour = SandboxedKernelManager(kernel_name="python3")
    asyncio.run(neighbour.start_kernel(cwd=str(course / "submitted" / attacks.CLASSMATE / LAB)))
    cwd = os.getcwd()
    os.chdir(tmp)  # as `make grade` does: nothing of the course around the grading process
    start = time.time()
    try:
        code = cli.main(["--root", str(course), "--cell-timeout", "60", "--workers", str(workers)])
    finally:
        os.chdir(cwd)
        seconds = time.time() - start
        asyncio.run(neighbour.shutdown_kernel(now=True))
        time.sleep(3)  # a forger that survived would have written by now
        listener.close()

    rows = {r["student"]: r for r in csv.DictReader(open(course / "grades.csv"))}
    rows["__lines__"] = (course / "grades.csv").read_text().splitlines()
    after = tree(course)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return Batch(
        mode=mode, course=course, code=code, rows=rows,
        scores=harness.scores(course, LAB, list(subs)),
        outputs={s: secret_outputs(course, s) for s in subs},
        changed=changed, gradebook_cells_changed=gradebook_cells(course) != cells_before,
        outside=[p for p in outside if os.path.exists(p)],
        alive=processes_with(attacks.MARK),
        kernels_left=sorted(map(str, kernels.glob("seqlab-kernel-*"))),
        tcp=listener.tcp, udp=listener.udp, seconds=seconds)
