"""Grading kernels that a submission cannot easily take down or fool.

nbgrader runs each submission in a Jupyter kernel. This module hardens that kernel and the
notebook that comes back, and is wired in by ``nbgrader_config.py``:

- :class:`SandboxedExecute` replaces nbgrader's ``Execute``: the kernel starts through
  ``python -m seqlab.sandbox`` with a memory limit (a memory bomb raises ``MemoryError`` in its
  cell instead of killing the machine) in an empty scratch directory (the course's gradebook and
  source notebooks are not found by walking up from the working directory). Before the first
  cell it snapshots NumPy, builtins and IPython's shell (and Keras' utilities once the
  setup cell imported them); before every test
  cell it restores them, so a solution that monkeypatches ``np.array_equal`` or IPython's
  traceback display gains nothing; and it checks that each test cell really ran to its end.
- :class:`DropTestCellResults`: a test cell's last value never counts as partial credit (nbgrader
  aborts the whole submission when such a value exceeds the cell's points).
- :class:`ClearHiddenTracebacks`: feedback shows no hidden-test line in any output.

This is defence in depth inside one process, not an operating-system sandbox: a submission that
searches the whole file system, or rewrites the kernel's execution machinery in a targeted way,
needs a container per student to stop it.
"""
from __future__ import annotations

import os
import re
import secrets
import sys
import tempfile
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbformat.notebooknode import NotebookNode
from traitlets import Float

from nbgrader.preprocessors import Execute, NbGraderPreprocessor

#: Address-space data limit for a grading kernel, in GiB (``SEQLAB_GRADING_MEMORY_GB``).
DEFAULT_MEMORY_GB = 4.0

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Run silently before the first cell: remember the pristine state of what tests rely on.
SNAPSHOT = r'''
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


def memory_limit_gb() -> float:
    return float(os.environ.get("SEQLAB_GRADING_MEMORY_GB", DEFAULT_MEMORY_GB))


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel through :func:`main`, which applies the limits and then execs it."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return [sys.executable, "-m", "seqlab.sandbox", "--memory-gb", str(memory_limit_gb()), "--", *cmd]


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

    An error raised inside the hidden block is reported by name only; other outputs lose any
    line that contains hidden-test text. Runs before nbgrader's ``ClearHiddenTests``.
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
                    out.evalue = "a hidden test failed (hidden tests are not shown)"
                    out.traceback = [f"{out.ename}: {out.evalue}"]
            elif out.output_type == "stream":
                out.text = "".join(l for l in out.text.splitlines(True) if not leaks(l))
            elif "data" in out:
                for mime, value in list(out.data.items()):
                    if isinstance(value, str) and leaks(value):
                        del out.data[mime]
        return cell, resources


def main(argv: list[str] | None = None) -> None:
    """``python -m seqlab.sandbox --memory-gb N -- KERNEL CMD...``: limit, isolate, exec."""
    import resource

    argv = list(sys.argv[1:] if argv is None else argv)
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    gb = float(opts[opts.index("--memory-gb") + 1]) if "--memory-gb" in opts else memory_limit_gb()
    limit = int(gb * 2**30)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    scratch = tempfile.mkdtemp(prefix="seqlab-kernel-")
    os.chdir(scratch)
    for var in ("PWD", "OLDPWD"):
        os.environ.pop(var, None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the snapshot imports Keras before seqlab
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
