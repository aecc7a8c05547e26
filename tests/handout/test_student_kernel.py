"""The student repository's kernel: the one the labs name, quiet on a fresh start, and the notebook
metadata it writes is the committed metadata (so JupyterLab does not mark a lab modified on opening).

No browser: the kernel spec of the student tree's ``jupyter-data/`` is started with jupyter_client, as
JupyterLab and the Validate button start it (``tests/handout/test_student_lab_browser.py`` checks the
same in a real browser, where Chromium and Playwright are installed).
"""
import json
import os
import re
import sys

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

import harness
from seqlab.grading import course

LAB = "06-char-generation"  # its first cell imports TensorFlow itself
# TensorFlow imported before seqlab (which sets it too): a student's own cell, cells run out of order.
TF_FIRST = "import tensorflow as tf\nprint(tf.constant([1.0]) * 2)"


@pytest.fixture(scope="module")
def kernels(student_repo) -> KernelSpecManager:
    return KernelSpecManager(kernel_dirs=[str(student_repo / "jupyter-data" / "kernels")])


def _kernel_env() -> dict:
    """A kernel's environment that shows C-level output, as in JupyterLab: ipykernel forwards what is
    written to file descriptors 1 and 2 (TensorFlow's C++ log lines) into the cell's output, except
    when it finds PYTEST_CURRENT_TEST in its environment, which pytest sets for each test phase."""
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def _first_code_cell(lab: str):
    nb = harness.release_nb(lab)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    nb.cells = [cell]
    return nb


def _stderr(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.get("name") == "stderr")


def _execute(nb, kernels: KernelSpecManager, cwd) -> None:
    harness.execute_in(nb, "python3", kernels, cwd, timeout=300, env=_kernel_env())


def _run(kernels: KernelSpecManager, source: str, cwd) -> tuple[str, str]:
    """(stdout, stderr) of ``source`` run as the first cell of a fresh kernel."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    _execute(nb, kernels, cwd)
    text = {name: "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == name)
            for name in ("stdout", "stderr")}
    return text["stdout"], text["stderr"]


def test_the_student_kernel_is_the_one_every_lab_names(kernels):
    spec = kernels.get_kernel_spec("python3")
    assert spec.argv[0] == "python", "argv[0] 'python' is the server's own interpreter (jupyter_client)"
    assert spec.env.get("TF_CPP_MIN_LOG_LEVEL") == "2", spec.env
    # Intel CPUs: oneDNN's start-up line ignores TF_CPP_MIN_LOG_LEVEL; off, TensorFlow runs its Eigen kernels, as on AMD.
    assert spec.env.get("TF_ENABLE_ONEDNN_OPTS") == "0", spec.env
    # glibc gives each of TensorFlow's threads a malloc arena of its own (up to 8 per core), which
    # keep freed memory: 2 arenas cost a lesson-scale Lab 02 kernel ~80-100 MiB less at every moment.
    assert spec.env.get("MALLOC_ARENA_MAX") == "2", spec.env
    for lab in harness.labs():
        for nb in (harness.source_nb(lab), harness.release_nb(lab)):
            meta = nb.metadata.kernelspec
            # JupyterLab writes the running kernel's name and display name into the notebook: the
            # same values as committed, or the lab shows as modified as soon as its kernel starts.
            assert (meta.name, meta.display_name, meta.language) == ("python3", spec.display_name, spec.language), \
                f"{lab}: kernelspec {dict(meta)} is not the student kernel's"


def test_the_committed_language_info_is_what_the_kernel_writes(kernels, student_repo):
    km = KernelManager(kernel_name="python3", kernel_spec_manager=kernels)
    km.start_kernel(cwd=str(student_repo), env=_kernel_env())
    try:
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=120)
        info = client.kernel_info(reply=True, timeout=60)["content"]["language_info"]
        client.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    assert info["version"] == ".".join(map(str, sys.version_info[:3]))
    for lab in harness.labs():
        for where, nb in (("source", harness.source_nb(lab)), ("release", harness.release_nb(lab))):
            committed = json.loads(json.dumps(nb.metadata.language_info))
            # The patch version is this interpreter's (3.11.7, as the labs were saved); another
            # 3.11.x writes its own, and there JupyterLab marks a lab modified once, on its first save.
            assert committed["version"].split(".")[:2] == info["version"].split(".")[:2], (lab, committed)
            assert {k: v for k, v in committed.items() if k != "version"} == \
                {k: v for k, v in info.items() if k != "version"}, \
                f"{where}/{lab}: language_info {committed} is not what the kernel writes ({info})"


def test_a_fresh_kernels_first_cell_writes_no_stderr(kernels, student_repo, monkeypatch):
    """TensorFlow's C++ start-up lines (oneDNN, cpu_feature_guard, absl's "All log messages before
    absl::InitializeLog()") come before any Python logging is set up: the spec's env silences them."""
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # conftest.py sets it: here the spec must
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    nb = _first_code_cell(LAB)
    _execute(nb, kernels, student_repo / "labs" / LAB)
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "scale:" in out, out
    assert not _stderr(nb), f"the first cell of {LAB} wrote to stderr on a fresh kernel:\n{_stderr(nb)}"


# Each lab's time-budgeted training: the cell that trains, and the progress switch that lesson scale
# turns on (smoke scale, which tests and grading use, stays quiet).
BUDGETED = {
    "05-addition-seq2seq": ("models[cs109b], clocks[cs109b] = train(", "verbose = scale.pick(lesson=True, smoke=False)",
                            r"^epoch 1 · \d+ s of the \d+ s budget · val exact match [\d.]+%$"),
    "06-char-generation": ("history = model.fit(train_ds", "verbose=scale.pick(lesson=True, smoke=False)",
                           r"^epoch 1 · \d+ s of the \d+ s budget · loss [\d.]+ · val_loss [\d.]+$"),
}


@pytest.mark.parametrize("lab", sorted(BUDGETED))
def test_time_budgeted_training_says_how_much_of_its_budget_is_spent(lab, kernels, student_repo):
    """``fit(epochs=10_000)`` stopped by a clock: one line per epoch against the budget, never
    Keras' "Epoch 1/10000". The switch is ``smoke=False`` (smoke scale stays quiet); this run, at
    smoke scale, turns it on as lesson scale does."""
    until, switch, line = BUDGETED[lab]
    nb = course.solved_notebook(harness.source_nb(lab), harness.release_nb(lab))
    nb.cells = nb.cells[:1 + next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and until in c.source)]
    switched = [c for c in nb.cells if switch in c.source]
    assert len(switched) == 1, f"{lab}: the progress switch {switch!r} is not in one cell"
    switched[0].source = switched[0].source.replace(switch, switch.split("scale.pick")[0] + "True")
    _execute(nb, kernels, student_repo / "labs" / lab)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    assert re.search(line, text, re.M), f"{lab}: no progress line in the training cell's output:\n{text}"
    assert "/10000" not in text and "Epoch 1/" not in text, text
    assert not _stderr(nb), _stderr(nb)


def test_tensorflow_imported_before_seqlab_is_quiet_too(kernels, student_repo, tmp_path, monkeypatch):
    """The labs import seqlab first, which also quietens TensorFlow; the kernel's env does it for any
    cell: here TensorFlow comes first. The same cell in a kernel without that env shows what the env
    removes (absl's "All log messages before absl::InitializeLog()" and TensorFlow's start-up lines)."""
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    bare = json.loads((student_repo / "jupyter-data" / "kernels" / "python3" / "kernel.json").read_text())
    bare.pop("env")
    (tmp_path / "python3").mkdir()
    (tmp_path / "python3" / "kernel.json").write_text(json.dumps(bare))
    _, noise = _run(KernelSpecManager(kernel_dirs=[str(tmp_path)]), TF_FIRST, tmp_path)
    if not noise:
        pytest.skip("this TensorFlow writes nothing to stderr when it loads: nothing for the kernel's env to silence")
    out, err = _run(kernels, TF_FIRST, tmp_path)
    assert "tf.Tensor([2.]" in out, out
    assert not err, f"the student kernel shows TensorFlow's start-up lines:\n{err}\n(without its env:\n{noise})"
