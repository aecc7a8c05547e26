"""The grading kernel: confined by the operating system, and hard to fool from inside.

nbgrader runs each submission in a Jupyter kernel; ``nbgrader_config.py`` wires this module in.

- :class:`SandboxedKernelManager` starts every kernel (nbgrader's runs and the cell-by-cell re-runs
  alike) through :mod:`.confine`: namespaces, Landlock, rlimits and a supervisor that kills all of
  it at the submission's wall-clock deadline. Its channels are Unix sockets (IPC transport) in a
  folder of its own, and it works in a scratch copy of the submission.
- :class:`SandboxedExecute` replaces nbgrader's ``Execute``. Before the first cell it snapshots
  NumPy, builtins and IPython's shell (and Keras' utilities once the setup cell imported them);
  before every test cell it restores them, so a solution that monkeypatches ``np.array_equal`` or
  IPython's traceback display gains nothing; and it checks that each test cell really ran to its end.
- Python warnings (Keras' among them) reach a cell's stdout in a grading kernel, and
  :class:`DropStderrNoise` drops TensorFlow's start-up and runtime noise from stderr, line by line:
  nbgrader scores a test cell 0 for any stderr, so what is left there is the student's doing, and a
  warning about the student's own model is feedback they read, not a lost test.
- :class:`DropTestCellResults`: a test cell's last value never counts as partial credit (nbgrader
  aborts the whole submission when such a value exceeds the cell's points).
- :class:`ClearHiddenTracebacks`: feedback shows no hidden-test line in any output.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from typing import Any, Optional

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.utils import run_sync
from nbformat.notebooknode import NotebookNode
from traitlets import Float

from . import confine

from nbgrader.preprocessors import Execute, NbGraderPreprocessor

#: Address-space data limit for a grading kernel, in GiB (``SEQLAB_GRADING_MEMORY_GB``).
DEFAULT_MEMORY_GB = 4.0

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Python warnings go to the running cell's stdout, formatted as Python formats them: a Keras
# warning about the student's model (e.g. a softmax over one unit) reaches the feedback without
# nbgrader reading it as a failure. Run before the first cell (part of SNAPSHOT).
WARNINGS_TO_STDOUT = r'''
def __seqlab_warnings_to_stdout():
    import sys, warnings
    def showwarning(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))
    warnings.showwarning = showwarning
__seqlab_warnings_to_stdout()
del __seqlab_warnings_to_stdout
'''

# Run silently before the first cell: remember the pristine state of what tests rely on.
SNAPSHOT = WARNINGS_TO_STDOUT + r'''
def __seqlab_snapshot():
    import builtins, importlib, sys, types
    guard = types.ModuleType("_seqlab_guard")
    guard.builtins = dict(vars(builtins))
    guard.modules = {}
    for name in ("numpy", "numpy.testing", "math"):
        module = importlib.import_module(name)
        attrs = dict(vars(module))
        codes = {k: v.__code__ for k, v in attrs.items() if isinstance(v, types.FunctionType)}
        guard.modules[name] = (module, attrs, codes)
    try:
        shell = get_ipython()
        classes = [(c, {k: v for k, v in vars(c).items() if callable(v) and not k.startswith("__")})
                   for c in type(shell).__mro__]
        names = {k for _, methods in classes for k in methods}
        guard.shell = (shell, classes, {k: v for k, v in vars(shell).items() if k in names})
    except NameError:
        guard.shell = None
    guard.aliases = {}
    sys.modules["_seqlab_guard"] = guard
__seqlab_snapshot()
del __seqlab_snapshot
'''

# Run silently after the first (setup) code cell: the module aliases it imported, and Keras'
# utilities if it imported Keras (importing it here first would cost seconds per notebook).
ALIASES = r'''
def __seqlab_aliases(ns):
    import sys, types
    guard = sys.modules.get("_seqlab_guard")
    if guard is not None:
        guard.aliases = {k: v for k, v in ns.items()
                         if isinstance(v, types.ModuleType) and not k.startswith("_")}
        for name in ("keras", "keras.utils", "keras.ops"):
            module = sys.modules.get(name)
            if module is not None:
                attrs = dict(vars(module))
                codes = {k: v.__code__ for k, v in attrs.items() if isinstance(v, types.FunctionType)}
                guard.modules[name] = (module, attrs, codes)
__seqlab_aliases(globals())
del __seqlab_aliases
'''

# Run silently before every test cell: put back what a submission may have patched.
RESTORE = r'''
def __seqlab_restore(ns):
    import builtins, sys
    shadowed = {"isinstance", "issubclass", "len", "all", "any", "abs", "round", "sorted", "list",
                "dict", "set", "tuple", "int", "float", "str", "bool", "range", "zip", "enumerate",
                "max", "min", "sum", "type", "repr", "hasattr", "getattr", "callable", "iter", "next",
                "map", "filter"}
    guard = sys.modules.get("_seqlab_guard")
    if guard is None:
        return
    for k, v in guard.builtins.items():
        setattr(builtins, k, v)
    for name, (module, attrs, codes) in guard.modules.items():
        sys.modules[name] = module
        for k, v in attrs.items():
            setattr(module, k, v)
        for k, code in codes.items():
            attrs[k].__code__ = code
    if guard.shell is not None:
        shell, classes, instance = guard.shell
        names = {k for _, methods in classes for k in methods}
        for k in [k for k in vars(shell) if k in names]:
            if k in instance:
                setattr(shell, k, instance[k])
            else:
                delattr(shell, k)  # e.g. `get_ipython().showtraceback = ...`
        for cls, methods in classes:
            for k, v in methods.items():
                if vars(cls).get(k) is not v:
                    try:
                        setattr(cls, k, v)
                    except (AttributeError, TypeError):
                        pass
    sys.excepthook = sys.__excepthook__
    for k in shadowed & set(ns):
        del ns[k]  # a global that shadows a builtin the tests use (e.g. `def isinstance`)
    ns.update(guard.aliases)  # `np`, `keras`, ... as the setup cell imported them
__seqlab_restore(globals())
del __seqlab_restore
'''


#: Wall-clock limit of one whole submission, all its kernels together, in s (``SEQLAB_GRADING_WALL_S``).
DEFAULT_WALL_S = 900
#: Where the grader keeps the current submission's deadline (epoch seconds) for its kernels.
DEADLINE_ENV = "SEQLAB_GRADING_DEADLINE"


def memory_limit_gb() -> float:
    return float(os.environ.get("SEQLAB_GRADING_MEMORY_GB", DEFAULT_MEMORY_GB))


def wall_limit_s() -> float:
    return float(os.environ.get("SEQLAB_GRADING_WALL_S", DEFAULT_WALL_S))


def deadline() -> float:
    """The current submission's deadline (set by the grader), else one full wall-clock limit from now."""
    value = os.environ.get(DEADLINE_ENV)
    return float(value) if value else time.time() + wall_limit_s()


def seconds_left() -> float:
    return deadline() - time.time()


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel started through :mod:`.confine`, talking over Unix sockets in a folder of its own.

    The folder (``/tmp/seqlab-kernel-*``, mode 0700) holds ``conn/`` (connection file and sockets,
    the only thing shared with the grader) and ``scratch/`` (the copy of the submission the kernel
    works in). It is removed, with any process left in the kernel's cgroup, when the kernel is gone.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._private = tempfile.mkdtemp(prefix="seqlab-kernel-")
        os.mkdir(os.path.join(self._private, "conn"))
        self.transport = "ipc"
        self.ip = os.path.join(self._private, "conn", "kernel")
        self.connection_file = os.path.join(self._private, "conn", "kernel.json")
        self._workdir: Optional[str] = None

    async def _async_pre_start_kernel(self, **kw: Any):
        # The kernel's working directory is a scratch copy made by the confining launcher: the
        # launcher itself starts in the private folder, never in the course.
        self._workdir = kw.get("cwd")
        kw["cwd"] = self._private
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        kw["cwd"] = self._private
        # A signal would reach the launcher, not the kernel: interrupt with a message instead.
        self.kernel_spec.interrupt_mode = "message"
        return cmd, kw

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return confine.kernel_command(cmd, private=self._private, workdir=self._workdir,
                                      deadline=deadline(), memory_gb=memory_limit_gb())

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if not restart:
            self._remove_private()

    # jupyter_client binds the sync name to its own coroutine function: bind it to this one.
    cleanup_resources = run_sync(_async_cleanup_resources)

    def _remove_private(self) -> None:
        confine.remove_cgroup(self._private, confine.status().pids_cgroup)
        for _ in range(50):  # a process of the sandbox may still be on its way out
            shutil.rmtree(self._private, ignore_errors=True)
            if not os.path.exists(self._private):
                return
            time.sleep(0.1)


def is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with a sandboxed kernel, restored state and a ran-to-the-end check."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self._snapshotted = False

    def _run_silently(self, code: str, index: int) -> None:
        cell = NotebookNode(cell_type="code", source=code, metadata=NotebookNode(), outputs=[],
                            execution_count=None, id=f"seqlab-guard-{index}")
        real = self.nb.cells[index]
        try:
            self.execute_cell(cell, index, store_history=False)
        finally:
            self.nb.cells[index] = real  # nbclient stores the executed cell at its index

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if cell.cell_type != "code":
            return cell, resources
        if not self._snapshotted:
            self._run_silently(SNAPSHOT, index)
        if not is_test_cell(cell):
            result = super().preprocess_cell(cell, resources, index)
            if not self._snapshotted:
                self._run_silently(ALIASES, index)
                self._snapshotted = True
            return result
        self._snapshotted = True

        self._run_silently(RESTORE, index)
        nonce = secrets.token_hex(16)
        original = cell.source
        cell.source = f"{original}\nprint({nonce!r})"
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = original
        reached = False
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stdout" and nonce in out.text:
                reached = True
                out.text = out.text.replace(nonce + "\n", "").replace(nonce, "")
        cell.outputs = [o for o in cell.outputs
                        if not (o.output_type == "stream" and o.name == "stdout" and not o.text)]
        failed = any(o.output_type == "error" for o in cell.outputs)
        if not reached and not failed:
            cell.outputs.append(NotebookNode(
                output_type="error", ename="GradingIntegrityError",
                evalue="this test cell did not run to its end as written",
                traceback=["GradingIntegrityError: this test cell did not run to its end as written"]))
        return cell, resources


#: One stderr line of start-up or runtime noise that is never the student's doing, matched from the
#: line's start (each alternative is linear in the line's length: no backtracking blow-up).
STDERR_NOISE = re.compile("|".join((
    # TensorFlow's C++ log (absl format); before absl::InitializeLog() the time reads
    # "0000 00:00:<seconds since 1970>", e.g. "E0000 00:00:1796686760.679233       4 util.cc:131] ".
    r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] ",
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w./-]+:\d+\] ",  # the same, TensorFlow's older format
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"WARNING:(?:tensorflow|absl):.*(?:retracing|tf\.function)",  # "5 out of the last 5 calls ..."
    r".*(?:oneDNN custom operations are on|TF_ENABLE_ONEDNN_OPTS|cpu_feature_guard"
    r"|This TensorFlow binary is optimized|rebuild TensorFlow with the appropriate compiler flags)",
    r".*(?:Unable to register cu(?:DNN|FFT|BLAS) factory|computation placer already registered"
    r"|failed call to cuInit|Could not find cuda drivers|TF-TRT Warning)",
)))


def strip_stderr_noise(text: str) -> str:
    """``text`` without its noise lines (:data:`STDERR_NOISE`); blank when nothing else was there."""
    kept = [line for line in text.splitlines(True) if not STDERR_NOISE.match(line)]
    return "".join(kept) if any(line.strip() for line in kept) else ""


class DropStderrNoise(NbGraderPreprocessor):
    """Drop TensorFlow's noise lines from every stderr output; an output left blank goes.

    nbgrader scores a test cell 0 if it wrote anything to stderr. Start-up and runtime notices are
    never the student's mistake; everything else on stderr stays and is scored as nbgrader does
    (Python warnings do not land here in a grading kernel: they go to stdout, see ``SNAPSHOT``).
    """

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                out.text = strip_stderr_noise(out.text)
                if not out.text:
                    continue
            outputs.append(out)
        cell.outputs = outputs
        return cell, resources


class DropTestCellResults(NbGraderPreprocessor):
    """Remove a test cell's ``execute_result``: its value must never be read as a score."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if is_test_cell(cell):
            cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]
        return cell, resources


def hidden_lines(source: str, begin: str = "### BEGIN HIDDEN TESTS", end: str = "### END HIDDEN TESTS") -> list[str]:
    """The stripped, non-empty lines between the hidden-test markers of ``source``."""
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


class ClearHiddenTracebacks(NbGraderPreprocessor):
    """Feedback: no output of a test cell may quote a line of its hidden tests.

    An error raised inside the hidden block is reported by its name and message only (the message of
    a hidden assert names the mistake for the student; the test's code is never shown), or as "a
    hidden test failed" where it has no message or the message quotes hidden code; other outputs
    lose any line that contains hidden-test text. Runs before nbgrader's ``ClearHiddenTests``.
    """

    min_length = Float(6, help="ignore hidden lines shorter than this (e.g. ')')").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if cell.cell_type != "code":
            return cell, resources
        secret = [l for l in hidden_lines(cell.source) if len(l) >= self.min_length]
        if not secret:
            return cell, resources

        def leaks(text: str) -> bool:
            plain = _ANSI.sub("", text)
            return any(s in plain for s in secret)

        for out in cell.outputs:
            if out.output_type == "error":
                if any(leaks(t) for t in out.traceback) or leaks(out.get("evalue", "")):
                    # The code goes; the assertion's message stays (it is written for the student
                    # and names the mistake), unless it quotes the hidden code itself or is empty.
                    if leaks(out.get("evalue", "")) or not out.get("evalue", "").strip():
                        out.evalue = "a hidden test failed (hidden tests are not shown)"
                    out.traceback = [f"{out.ename}: {out.evalue}"]
            elif out.output_type == "stream":
                out.text = "".join(l for l in out.text.splitlines(True) if not leaks(l))
            elif "data" in out:
                for mime, value in list(out.data.items()):
                    if isinstance(value, str) and leaks(value):
                        del out.data[mime]
        return cell, resources
