"""Confine a grading kernel, and everything it starts, with what the Linux kernel offers.

The grader decides once per run what this machine can do (:func:`status`) and starts every kernel
through :func:`kernel_command`, which runs this file as a script (``python -E -s confine.py``: no
site-packages and no ``PYTHON*`` variables of the grader's shell, nothing imported from the course).
A kernel is confined by up to three layers, each enough on its own for what it covers:

1. **Namespaces** (``bwrap``, Debian's ``bubblewrap``, what Flatpak confines apps with): new user,
   PID, mount, network, IPC and UTS namespaces; a root file system holding only the Python
   environment, system libraries, the datasets and the submission's own scratch copy; ``/proc``
   of its own PID namespace; no network device but its own loopback; every capability dropped; the
   whole sandbox dies with the grader.
2. **Landlock** (applied by the kernel's own process before ``exec``, inherited by everything it
   starts): reads only the paths of :func:`readable_paths`, writes only its scratch directory and its
   channel directory, no TCP bind or connect (ABI 4), no signal and no abstract Unix socket out of
   its domain (ABI 6); ptrace and ``/proc/<pid>/{cwd,environ,mem}`` of processes outside it are
   refused (ABI 1).
3. **Limits and a supervisor**: the kernel's capability bounding set is emptied (a root grader's
   kernel keeps no capability); the supervisor (a child subreaper, outside Landlock's domain, so a
   submission cannot signal it) starts the kernel in a process group of its own with rlimits (data
   size, file size, no core files, processes for a non-root grader), joins the run to a ``pids``
   cgroup where the grader is root (root ignores ``RLIMIT_NPROC``), counts the submission's tasks,
   and kills every process of it when the kernel exits, when the submission's wall-clock deadline
   passes (exit 124) or when it runs more tasks than allowed (exit 125).

Without namespaces (a distribution that restricts unprivileged user namespaces, no ``bwrap``)
layers 2 and 3 remain, if the kernel's Landlock ABI is at least 6; without either, the grader
refuses to run unless the instructor explicitly asks for unconfined grading.
"""
from __future__ import annotations

import argparse
import ctypes
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

try:
    from . import landlock
except ImportError:  # run as a script: this file's folder is sys.path[0]
    import landlock  # type: ignore[no-redef]

#: Tasks (processes and threads) a submission may run at once; PrairieLearn's grader gives 1,024.
MAX_TASKS = 1024
#: Largest file a submission may write, and the size of its scratch file system (namespaces).
MAX_FILE_BYTES = 2**30
#: Environment variables a kernel keeps; everything else of the grader's environment is dropped.
KEPT_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TFDS_DATA_DIR", "MPLBACKEND",
            "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "NBGRADER_EXECUTION", "VIRTUAL_ENV",
            "PYTHONHASHSEED", "OMP_NUM_THREADS",
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "CUDA_VISIBLE_DEVICES", "JPY_PARENT_PID")
#: Set (to "1") by ``python -m seqlab.grading --unconfined``: grade without OS confinement.
UNCONFINED_ENV = "SEQLAB_GRADING_UNCONFINED"
#: Turn off namespaces (tests of the Landlock-only layers, a machine whose bwrap misbehaves).
NO_NAMESPACES_ENV = "SEQLAB_CONFINE_NO_NAMESPACES"
#: Landlock ABI needed when there are no namespaces: 6 scopes signals (the grader's, and as root
#: every process's); below it a submission could signal processes outside the sandbox.
MIN_ABI_ALONE = 6
# /etc holds secrets (shadow, ssh keys): only these of its entries are visible.
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group",
       "nsswitch.conf", "hosts", "host.conf", "gai.conf", "ssl", "ca-certificates", "alternatives",
       "mime.types", "fonts", "os-release", "debian_version", "matplotlibrc")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_CHILD_SUBREAPER = 1, 24, 36


# --- what this machine can do ------------------------------------------------------------------

@dataclass(frozen=True)
class Status:
    """The confinement layers available to this grader on this machine."""

    landlock_abi: int
    bwrap: Optional[str]          # path of a working bwrap, when namespaces are usable
    pids_cgroup: Optional[str]    # cgroup folder for task limits (a root grader), if any
    why_no_namespaces: str = ""

    @property
    def namespaces(self) -> bool:
        return self.bwrap is not None

    @property
    def confined(self) -> bool:
        return self.namespaces or self.landlock_abi >= MIN_ABI_ALONE

    @property
    def mode(self) -> str:
        layers = (["namespaces"] if self.namespaces else []) + (["landlock"] if self.landlock_abi else [])
        return "+".join(layers) if self.confined else "unconfined"

    def describe(self) -> str:
        """Lines for the instructor: what confines each kernel, and what is missing."""
        ns = (f"yes (bubblewrap at {self.bwrap})" if self.namespaces
              else f"no ({self.why_no_namespaces})")
        ll = f"ABI {self.landlock_abi}" if self.landlock_abi else "not available"
        if os.geteuid() == 0:
            tasks = (f"pids cgroup {self.pids_cgroup}" if self.pids_cgroup
                     else "supervisor count only (root ignores RLIMIT_NPROC and no pids cgroup is writable)")
        else:
            tasks = "RLIMIT_NPROC"
        return "\n".join([f"  namespaces: {ns}", f"  landlock:   {ll}",
                          f"  task limit: {MAX_TASKS} ({tasks})"])


def _bwrap_problem(bwrap: Optional[str]) -> str:
    """Why bwrap cannot confine a kernel here ("" when it can)."""
    if os.environ.get(NO_NAMESPACES_ENV):
        return f"turned off by {NO_NAMESPACES_ENV}"
    if not bwrap:
        return "bwrap not found: install bubblewrap (Debian/Ubuntu: apt install bubblewrap)"
    probe = [bwrap, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--ro-bind", "/", "/",
             "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        out = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed: {exc}"
    if out.returncode != 0:
        return f"bwrap cannot create namespaces here: {out.stderr.strip()[:200]}"
    return ""


def _writable_pids_cgroup() -> Optional[str]:
    if os.geteuid() != 0:
        return None
    for folder in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        p = Path(folder)
        v2 = folder == "/sys/fs/cgroup" and "pids" in _read(p / "cgroup.subtree_control")
        if (p / "cgroup.procs").exists() and (folder.endswith("pids") or v2) and os.access(p, os.W_OK):
            return folder
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@lru_cache(maxsize=None)
def _status(no_namespaces: str) -> Status:
    bwrap = shutil.which("bwrap")
    problem = _bwrap_problem(bwrap)
    return Status(landlock.abi(), None if problem else bwrap, _writable_pids_cgroup(), problem)


def status() -> Status:
    """What confines a kernel on this machine (probed once per process)."""
    return _status(os.environ.get(NO_NAMESPACES_ENV, ""))


def readable_paths() -> list[str]:
    """What a grading kernel may read: the Python environment, system libraries, the seqlab
    helpers its notebooks import, the datasets; nothing else of the course or the home folder."""
    import seqlab

    paths = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys", "/proc",
             *(f"/etc/{name}" for name in ETC)}
    # Both the path as Python names it and where it really lies: bwrap binds a path as named (a
    # venv behind a symlink must appear where the kernel command names it), Landlock the real one.
    named = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, os.path.dirname(sys.executable)]
    prefixes = {os.path.realpath(p) for p in named}
    paths |= prefixes | {os.path.abspath(p) for p in named}
    for p in sys.path:
        if p and os.path.isdir(p) and any(os.path.realpath(p).startswith(x + os.sep) for x in prefixes):
            paths |= {os.path.realpath(p), os.path.abspath(p)}
    paths.add(str(Path(seqlab.__file__).resolve().parent))
    if os.environ.get("TFDS_DATA_DIR"):
        paths.add(os.path.realpath(os.environ["TFDS_DATA_DIR"]))
    return sorted(p for p in paths if os.path.exists(p))


# --- the command the grader runs ---------------------------------------------------------------

def unconfined() -> bool:
    """Has the instructor asked for unconfined grading (``--unconfined``)?"""
    return os.environ.get(UNCONFINED_ENV) == "1"


def kernel_command(cmd: list[str], *, private: str, workdir: Optional[str], deadline: float,
                   memory_gb: float, state: Optional[Status] = None) -> list[str]:
    """``cmd`` (a kernel's command line) run confined: its channel files live in ``private/conn``,
    it works in a scratch copy of ``workdir`` and is killed, whole, at ``deadline`` (epoch s).

    Under ``--unconfined`` only the limits and the supervisor remain (no namespaces, no Landlock)."""
    state = state or status()
    loose = unconfined()
    if not state.confined and not loose:
        raise RuntimeError("this machine cannot confine a grading kernel:\n" + state.describe())
    opts = ["--private", private, "--parent", str(os.getpid()), "--deadline", f"{deadline:.3f}", "--memory-gb", str(memory_gb),
            "--landlock", "0" if loose else str(state.landlock_abi), "--read", os.pathsep.join(readable_paths())]
    if workdir:
        opts += ["--workdir", workdir]
    if loose:
        opts += ["--unconfined"]
    elif state.bwrap:
        opts += ["--bwrap", state.bwrap]
    if state.pids_cgroup:
        opts += ["--cgroup", state.pids_cgroup]
    return [sys.executable, "-E", "-s", os.path.abspath(__file__), *opts, "--", *cmd]


def cgroup_of(private: str, parent: str) -> Path:
    return Path(parent) / f"seqlab-{Path(private).name}"


def remove_cgroup(private: str, parent: Optional[str]) -> None:
    """Kill whatever is left in a kernel's cgroup and remove it (the grader, after the kernel)."""
    if not parent:
        return
    group = cgroup_of(private, parent)
    for _ in range(100):
        pids = [int(p) for p in _read(group / "cgroup.procs").split()]
        if not pids:
            break
        for pid in pids:
            _kill(pid)
        time.sleep(0.02)
    try:
        group.rmdir()
    except OSError:
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


# --- outer stage: runs as the grader, before anything of the submission ------------------------

def _outer(args: argparse.Namespace, cmd: list[str]) -> int:
    private = Path(args.private)
    if args.cgroup:  # everything started from here on counts against pids.max
        group = cgroup_of(args.private, args.cgroup)
        group.mkdir(exist_ok=True)
        (group / "pids.max").write_text(str(MAX_TASKS + 16))  # + the supervisor and bwrap
        (group / "cgroup.procs").write_text(str(os.getpid()))
    copy_into = private / ("staging" if args.bwrap else "scratch")
    if args.workdir:
        # The submission's folder is copied in, never worked on in place; without its notebooks:
        # the kernel gets its cells by message, and nbgrader has written the notebook being graded
        # there with every hidden test restored.
        shutil.copytree(args.workdir, copy_into, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", ".preflight"))
    copy_into.mkdir(exist_ok=True)
    if not args.bwrap:
        if args.landlock < MIN_ABI_ALONE and not args.unconfined:
            print(f"seqlab.grading: Landlock ABI {args.landlock} < {MIN_ABI_ALONE} and no namespaces: "
                  "refusing to start a kernel", file=sys.stderr)
            return 126
        return _supervise(args, cmd)
    scratch = private / "scratch"
    scratch.mkdir(exist_ok=True)
    argv = [args.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--size", str(MAX_FILE_BYTES), "--tmpfs", "/tmp",
            "--size", str(64 * 2**20), "--tmpfs", "/dev/shm"]
    for path in args.read.split(os.pathsep):
        if path not in ("/proc",):
            argv += ["--ro-bind-try", path, path]
    argv += ["--bind", str(private / "conn"), str(private / "conn"),
             "--ro-bind", str(private / "staging"), str(private / "staging"),
             "--size", str(MAX_FILE_BYTES), "--tmpfs", str(scratch), "--chdir", "/",
             sys.executable, "-E", "-s", os.path.abspath(__file__), "--inside", *sys.argv[1:]]
    # bwrap's --die-with-parent ties the sandbox to bwrap, not bwrap to the grader (as root, bwrap's
    # own parent-death signal does not survive its change of credentials): this launcher stays as
    # bwrap's parent, in the kernel's process group (the grader kills the group), and when the
    # grader dies outright (a Dask worker killed, out of memory) it is told so and kills bwrap.
    import subprocess

    running: list[subprocess.Popen] = []

    def stop(signum, frame):
        # bwrap's inner process (the PID namespace's init, in a session of its own) may not die with
        # the outer one either: kill every process below it; the namespace's init takes all inside.
        for sandbox in running:
            # Freeze bwrap first, so that no process it is starting escapes the scan below.
            os.kill(sandbox.pid, signal.SIGSTOP)
            for _ in range(50):
                try:
                    if Path(f"/proc/{sandbox.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "TtZX":
                        break
                except OSError:
                    break
                time.sleep(0.01)
            for pid in _descendants(sandbox.pid):
                _kill(pid)
            sandbox.kill()
        if not running:
            os._exit(125)

    signals = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
    for signum in signals:
        signal.signal(signum, stop)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if args.parent and os.getppid() != args.parent:  # the grader died before the line above took effect
        return 125
    # No stop while bwrap is being started (it would be left behind); the sandbox gets a clean mask.
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    running.append(subprocess.Popen(argv, executable=args.bwrap,
                                    preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
    code = running[0].wait()
    return code if code >= 0 else 128 - code


# --- the supervisor: the kernel's parent, outside Landlock's domain ----------------------------

def _supervise(args: argparse.Namespace, cmd: list[str]) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans (setsid, double fork) come back here
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the grader gone: so is this
    private = Path(args.private)
    scratch = private / "scratch"
    if args.bwrap:
        shutil.copytree(private / "staging", scratch, symlinks=True, dirs_exist_ok=True)
    for sub in ("home", "tmp"):
        (scratch / sub).mkdir(exist_ok=True)

    stop = {"signal": 0}
    signal.signal(signal.SIGTERM, lambda s, f: stop.update(signal=s))
    kernel = os.fork()
    if kernel == 0:
        try:
            _become_kernel(args, cmd, libc)
        except BaseException as exc:  # never run a kernel unconfined
            print(f"seqlab.grading: could not confine the kernel: {exc}", file=sys.stderr)
        os._exit(126)

    code = None
    last_count = 0.0
    while code is None:
        try:
            pid, wstatus = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == kernel:
            code = os.waitstatus_to_exitcode(wstatus)
            break
        if pid:
            continue  # a reaped orphan; look again at once
        if stop["signal"]:
            code = 128 + stop["signal"]
        elif time.time() > args.deadline:
            print("seqlab.grading: the submission ran past its wall-clock limit", file=sys.stderr)
            code = 124
        elif time.monotonic() - last_count > 0.25:
            last_count = time.monotonic()
            if _task_count(args) > MAX_TASKS:
                print(f"seqlab.grading: the submission ran more than {MAX_TASKS} tasks", file=sys.stderr)
                code = 125
        if code is None:
            time.sleep(0.05)
    _kill_descendants(args)
    return code if code is not None else 0


def _become_kernel(args: argparse.Namespace, cmd: list[str], libc) -> None:
    import resource

    os.setpgid(0, 0)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    scratch = str(Path(args.private) / "scratch")
    memory = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() != 0:  # counts every process of this user: leave the user's own ones room
        nproc = _processes_of(os.getuid()) + MAX_TASKS
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.chdir(scratch)
    # A root grader's kernel would keep every capability (load a kernel module, raw sockets, ...)
    # where no user namespace took them away: empty the bounding set, so that exec grants none.
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    if args.landlock:
        landlock.restrict_self(read=args.read.split(os.pathsep),
                               write=[scratch, str(Path(args.private) / "conn")], devices=DEVICES)
    elif not args.bwrap and not args.unconfined:
        raise RuntimeError("neither namespaces nor Landlock")
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENV or k.startswith("SEQLAB_")}
    home = f"{scratch}/home"
    env.update(HOME=home, TMPDIR=f"{scratch}/tmp", PWD=scratch, MPLCONFIGDIR=f"{home}/.matplotlib",
               KERAS_HOME=f"{home}/.keras", IPYTHONDIR=f"{home}/.ipython", JUPYTER_CONFIG_DIR=f"{home}/.jupyter",
               JUPYTER_DATA_DIR=f"{home}/.local/share/jupyter", JUPYTER_RUNTIME_DIR=f"{home}/.local/share/jupyter/runtime")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # see seqlab/__init__.py
    if args.landlock >= 4:
        # ipykernel binds a loopback TCP port for output of forked children; Landlock refuses it
        # (no TCP at all) and ipykernel falls back to no such pipe, with a warning on stderr.
        env["PYTHONWARNINGS"] = "ignore:Couldn't bind IOPub Pipe"
    os.execve(cmd[0], cmd, env)


def _processes_of(uid: int) -> int:
    """Tasks (threads) of ``uid`` now: what RLIMIT_NPROC counts."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"{entry.path}/task"))
            except OSError:
                pass
    return count


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _read(Path(entry.path) / "stat")
            if stat:
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(pid: Optional[int] = None) -> list[int]:
    """Every process below ``pid`` (default: this one), children before their own children."""
    children, found, todo = _children(), [], [pid or os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _task_count(args: argparse.Namespace) -> int:
    if args.cgroup:
        current = _read(cgroup_of(args.private, args.cgroup) / "pids.current").strip()
        if current.isdigit():
            return int(current)
    return sum(len(os.listdir(f"/proc/{pid}/task")) for pid in _descendants() if os.path.isdir(f"/proc/{pid}/task"))


def _kill_descendants(args: argparse.Namespace) -> None:
    """Kill every process the submission started, and reap them (this process is their subreaper)."""
    for _ in range(200):
        pids = _descendants()
        if args.cgroup:
            # Inside a PID namespace, processes outside it read as 0 and bwrap's init is 1.
            pids += [int(p) for p in _read(cgroup_of(args.private, args.cgroup) / "cgroup.procs").split()
                     if int(p) > 1 and int(p) != os.getpid()]
        if not pids:
            break
        for pid in pids:
            _kill(pid)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.01)


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sep = argv.index("--")
    parser = argparse.ArgumentParser(prog="confine.py")
    parser.add_argument("--inside", action="store_true", help="(internal) the stage inside bwrap")
    parser.add_argument("--private", required=True)
    parser.add_argument("--parent", type=int, default=0, help="the grader's pid (the launcher dies with it)")
    parser.add_argument("--workdir")
    parser.add_argument("--deadline", type=float, required=True)
    parser.add_argument("--memory-gb", type=float, default=4.0)
    parser.add_argument("--landlock", type=int, default=0)
    parser.add_argument("--read", default="")
    parser.add_argument("--bwrap")
    parser.add_argument("--cgroup")
    parser.add_argument("--unconfined", action="store_true")
    args, cmd = parser.parse_args(argv[:sep]), argv[sep + 1:]
    return _supervise(args, cmd) if args.inside else _outer(args, cmd)


if __name__ == "__main__":
    sys.exit(main())
