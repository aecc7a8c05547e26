"""Each confinement layer on its own, and the grader's refusal to grade unconfined by accident."""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seqlab.grading import cli, confine, landlock

needs_landlock = pytest.mark.skipif(landlock.abi() < 1, reason="this kernel has no Landlock")


@needs_landlock
def test_landlock_alone_confines_files_tcp_and_signals(tmp_path):
    allowed, secret = tmp_path / "allowed", tmp_path / "secret.txt"
    allowed.mkdir()
    secret.write_text("answer")
    listener = __import__("socket").create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    script = textwrap.dedent(f"""
        import os, signal, socket, sys
        sys.path.insert(0, {os.path.dirname(landlock.__file__)!r})
        import landlock
        abi = landlock.restrict_self(read={confine.readable_paths()!r}, write=[{str(allowed)!r}])
        results = {{}}
        def attempt(name, f):
            try:
                f(); results[name] = "allowed"
            except OSError as exc:
                results[name] = "denied"
        attempt("read outside", lambda: open({str(secret)!r}).read())
        attempt("write outside", lambda: open({str(tmp_path / 'new.txt')!r}, "w").write("x"))
        attempt("write inside", lambda: open({str(allowed / 'new.txt')!r}, "w").write("x"))
        attempt("read library", lambda: open(os.__file__).read())
        if abi >= 4:
            attempt("tcp connect", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
        if abi >= 6:
            attempt("signal parent", lambda: os.kill(os.getppid(), 0))
        print(results)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    listener.close()
    assert out.returncode == 0, out.stderr
    results = eval(out.stdout.strip().splitlines()[-1])
    assert results["read outside"] == "denied" and results["write outside"] == "denied"
    assert results["write inside"] == "allowed" and results["read library"] == "allowed"
    assert results.get("tcp connect", "denied") == "denied"
    assert results.get("signal parent", "denied") == "denied"


def test_the_grader_refuses_to_grade_unconfined_unless_asked(monkeypatch, capsys, tmp_path):
    bare = confine.Status(landlock_abi=0, bwrap=None, pids_cgroup=None, why_no_namespaces="bwrap not found")
    monkeypatch.setattr(confine, "status", lambda: bare)
    monkeypatch.delenv(confine.UNCONFINED_ENV, raising=False)
    assert not bare.confined and bare.mode == "unconfined"
    assert cli.main(["--root", str(tmp_path), "--lab", "none"]) == 2
    err = capsys.readouterr().err
    assert "REFUSING TO GRADE" in err and "UNCONFINED=1" in err
    with pytest.raises(RuntimeError, match="cannot confine"):
        confine.kernel_command(["python"], private=str(tmp_path), workdir=None, deadline=0, memory_gb=1)
    assert cli.check_confinement(allow_unconfined=True)
    assert "GRADING UNCONFINED" in capsys.readouterr().out
    assert os.environ[confine.UNCONFINED_ENV] == "1"
    assert "--unconfined" in confine.kernel_command(["python"], private=str(tmp_path), workdir=None,
                                                    deadline=0, memory_gb=1)


def test_landlock_without_namespaces_needs_abi_6():
    assert not confine.Status(landlock_abi=5, bwrap=None, pids_cgroup=None).confined
    assert confine.Status(landlock_abi=6, bwrap=None, pids_cgroup=None).confined
    assert confine.Status(landlock_abi=0, bwrap="/usr/bin/bwrap", pids_cgroup=None).confined


def test_kernels_read_nothing_of_the_course(tmp_path):
    root = str(Path(__file__).resolve().parents[2])
    readable = confine.readable_paths()
    inside = [p for p in readable if p == root or p.startswith(root + os.sep)]
    assert all(p.startswith((os.path.join(root, ".venv"), os.path.join(root, "seqlab"))) for p in inside), inside
    assert not any(p in ("/", "/root", "/home", "/tmp", "/etc", os.path.expanduser("~")) for p in readable), readable


def test_a_student_tree_ships_the_helpers_without_the_grading_engine(tmp_path):
    """seqlab/ without seqlab/grading/: what notebooks import still imports."""
    package = Path(confine.__file__).resolve().parents[1]
    shutil.copytree(package, tmp_path / "seqlab", ignore=shutil.ignore_patterns("grading", "__pycache__"))
    code = ("import seqlab, seqlab.scale, seqlab.data, seqlab.plots, seqlab.metrics, seqlab.memory, seqlab.seed\n"
            "import importlib.util as u; assert u.find_spec('seqlab.grading') is None; print(seqlab.__file__)")
    out = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path[:0] = [{str(tmp_path)!r}] + "
                          f"[p for p in {sys.path!r} if 'site-packages' in p]\n" + code],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith(str(tmp_path))


@pytest.mark.skipif(not confine.status().confined, reason="this machine cannot confine a kernel")
def test_the_supervisor_kills_everything_at_the_deadline(tmp_path):
    """A kernel command (here a plain Python program) that starts a detached process and never
    ends: the whole of it is gone once the deadline passes, and the exit code says why."""
    import time

    mark = f"seqlab-deadline-{os.getpid()}"
    program = ("import subprocess, sys, time\n"
               f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {mark!r}], start_new_session=True)\n"
               "time.sleep(600)\n")
    private = tmp_path / "private"
    (private / "conn").mkdir(parents=True)
    cmd = confine.kernel_command([sys.executable, "-c", program, mark], private=str(private), workdir=None,
                                 deadline=time.time() + 5, memory_gb=2)
    start = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    confine.remove_cgroup(str(private), confine.status().pids_cgroup)
    assert out.returncode == 124, out.stderr
    assert "wall-clock limit" in out.stderr
    assert time.time() - start < 60
    time.sleep(0.5)
    alive = [p for p in os.listdir("/proc") if p.isdigit() and mark.encode() in _cmdline(p)]
    assert alive == [], "a detached process outlived its submission"


def _cmdline(pid: str) -> bytes:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


@pytest.mark.parametrize("namespaces", [True, False], ids=["all-layers", "landlock-only"])
def test_a_kernel_holds_no_capability(tmp_path, monkeypatch, namespaces):
    """Even when the grader is root: without a user namespace a root kernel would keep every
    capability (load kernel modules, raw sockets), which Landlock does not restrict."""
    import time

    if not namespaces:
        monkeypatch.setenv(confine.NO_NAMESPACES_ENV, "1")
    state = confine.status()
    if not state.confined or (namespaces and not state.namespaces):
        pytest.skip(f"this machine cannot confine a kernel this way:\n{state.describe()}")
    program = ("caps = dict(l.split(':') for l in open('/proc/self/status') if l.startswith('Cap'))\n"
               "print({k: int(v, 16) for k, v in caps.items()})")
    private = tmp_path / "private"
    (private / "conn").mkdir(parents=True)
    cmd = confine.kernel_command([sys.executable, "-c", program], private=str(private), workdir=None,
                                 deadline=time.time() + 60, memory_gb=2)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    confine.remove_cgroup(str(private), state.pids_cgroup)
    assert out.returncode == 0, out.stderr
    caps = eval(out.stdout.strip().splitlines()[-1])
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapBnd"] == 0, caps
