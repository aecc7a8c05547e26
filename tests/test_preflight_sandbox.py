"""Unit tests of the grading hardening: pre-flight repairs and the sandbox's preprocessors."""
import json

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from seqlab.grading import kernel as sandbox, preflight


def release_nb():
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Lab 99"),
        new_code_cell("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        new_code_cell("assert f(1) == 2"),
    ]
    nb.cells[1].metadata["nbgrader"] = {"grade": False, "grade_id": "f", "locked": False,
                                        "schema_version": 3, "solution": True, "task": False}
    nb.cells[2].metadata["nbgrader"] = {"grade": True, "grade_id": "test_f", "locked": True, "points": 1.0,
                                        "schema_version": 3, "solution": False, "task": False}
    return nb


def submit(folder, nb, name="99-lab.ipynb"):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def solved():
    nb = release_nb()
    nb.cells[1].source = "def f(x):\n    return 2 * x"
    return nb


def test_clean_submission_is_left_alone(tmp_path):
    submit(tmp_path, solved())
    report = preflight.check(tmp_path, "99-lab", release_nb())
    assert report.gradable and not report.repaired and not report.problems
    assert not (tmp_path / preflight.BACKUP).exists()


def test_renamed_and_extra_notebooks(tmp_path):
    submit(tmp_path, solved(), "99-lab (copy).ipynb")
    report = preflight.check(tmp_path, "99-lab", release_nb())
    assert report.gradable and "renamed" in report.repaired[0]
    assert (tmp_path / "99-lab.ipynb").exists()

    other = tmp_path / "b"
    submit(other, solved())
    submit(other, new_notebook(), "scratch.ipynb")
    report = preflight.check(other, "99-lab", release_nb())
    assert report.gradable and "extra notebook scratch.ipynb" in report.repaired[0]
    assert sorted(p.name for p in other.glob("*.ipynb")) == ["99-lab.ipynb"]


def test_invalid_json_is_reported_not_graded(tmp_path):
    tmp_path.joinpath("99-lab.ipynb").write_text('{"cells": [')
    report = preflight.check(tmp_path, "99-lab", release_nb())
    assert not report.gradable and "invalid JSON" in report.problems[0]


def test_duplicated_cell_keeps_the_first_graded(tmp_path):
    nb = solved()
    twin = json.loads(json.dumps(nb.cells[2]))
    twin["id"] = nb.cells[2]["id"]
    nb.cells.append(nbformat.from_dict(twin))
    submit(tmp_path, nb)
    report = preflight.check(tmp_path, "99-lab", release_nb())
    fixed = nbformat.read(tmp_path / "99-lab.ipynb", 4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in fixed.cells]
    assert ids.count("test_f") == 1 and "duplicated" in report.repaired[0]
    assert len({c.id for c in fixed.cells}) == len(fixed.cells)


def test_stripped_metadata_is_restored_and_regrading_repeats_the_same_repair(tmp_path):
    nb = solved()
    for c in nb.cells:
        c.metadata = {}
        c.pop("id")
    nb.nbformat_minor = 4
    submit(tmp_path, nb)
    for _ in range(2):
        report = preflight.check(tmp_path, "99-lab", release_nb())
        assert report.gradable and not report.problems
        assert any("restored" in r for r in report.repaired) and any("upgraded" in r for r in report.repaired)
    fixed = nbformat.read(tmp_path / "99-lab.ipynb", 4)
    assert fixed.cells[1].metadata.nbgrader["grade_id"] == "f"
    assert fixed.cells[1].source == "def f(x):\n    return 2 * x", "the student's answer is kept"
    assert fixed.cells[2].metadata.nbgrader["grade_id"] == "test_f"
    original = nbformat.read(tmp_path / preflight.BACKUP / "99-lab.ipynb", 4)
    assert "nbgrader" not in original.cells[1].metadata, "the notebook as handed in is kept"


def _hidden_failure(evalue: str, line: str) -> nbformat.NotebookNode:
    cell = new_code_cell(f"assert f(1) == 2\n### BEGIN HIDDEN TESTS\n{line}\n### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False}
    cell.outputs = [
        nbformat.from_dict({"output_type": "error", "ename": "AssertionError", "evalue": evalue,
                            "traceback": [f"\x1b[31m----> 3\x1b[0m {line}", f"AssertionError: {evalue}"]}),
        nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": f"ok\n{line}\n"}),
    ]
    return sandbox.ClearHiddenTracebacks().preprocess_cell(cell, {}, 0)[0]


def test_hidden_tracebacks_are_cleared_and_their_message_kept():
    out = _hidden_failure("count every occurrence of a token", "assert f(21) == 42, 'count every occurrence of a token'")
    text = json.dumps(out.outputs)
    assert "f(21)" not in text, "the hidden test's code is never shown"
    assert out.outputs[0].ename == "AssertionError" and out.outputs[1].text == "ok\n"
    assert out.outputs[0].evalue == "count every occurrence of a token", "the message is for the student"
    assert out.outputs[0].traceback == ["AssertionError: count every occurrence of a token"]


def test_a_hidden_failure_without_a_message_or_quoting_the_test_says_only_that_it_failed():
    for evalue, line in [("", "assert f(21) == 42"),
                         ("assert f(21) == 42", "assert f(21) == 42")]:
        out = _hidden_failure(evalue, line)
        assert "f(21)" not in json.dumps(out.outputs)
        assert out.outputs[0].evalue == "a hidden test failed (hidden tests are not shown)"


def test_test_cell_results_never_count_as_scores():
    cell = new_code_cell("1e9")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False}
    cell.outputs = [nbformat.from_dict({"output_type": "execute_result", "execution_count": 1,
                                        "data": {"text/plain": "1e9"}, "metadata": {}})]
    out, _ = sandbox.DropTestCellResults().preprocess_cell(cell, {}, 0)
    assert out.outputs == []


# Start-up and runtime noise as TensorFlow 2.x writes it on a CPU machine (copied from real kernels).
NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1733500000.123456   12345 cpu_feature_guard.cc:210] This TensorFlow binary is optimized"
    " to use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the"
    " appropriate compiler flags.\n"
    "2026-12-07 00:00:00.000000: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda"
    " drivers on your machine, GPU will not be used.\n"
    # A CPU without the AVX-512 subset oneDNN wants, the first time a boolean tensor is computed:
    # TensorFlow's C++ log before absl::InitializeLog() (seconds since 1970 as the time).
    "E0000 00:00:1796686760.679233       4 util.cc:131] oneDNN supports DT_BOOL only on platforms with"
    " AVX-512. Falling back to the default Eigen-based implementation if present.\n"
    "2026-12-07 00:00:00.000000: E tensorflow/core/util/util.cc:131] oneDNN supports DT_BOOL only on"
    " platforms with AVX-512. Falling back to the default Eigen-based implementation if present.\n"
    "E0000 00:00:1733500000.654321   12345 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting"
    " to register factory for plugin cuDNN when one has already been registered\n"
    "WARNING:tensorflow:5 out of the last 5 calls to <function f at 0x7f> triggered tf.function retracing.\n"
    "\n"
)


def _stderr_cell(text):
    cell = new_code_cell("check()")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False}
    cell.outputs = [nbformat.from_dict({"output_type": "stream", "name": "stderr", "text": text})]
    return sandbox.DropStderrNoise().preprocess_cell(cell, {}, 0)[0]


def test_stderr_noise_alone_is_dropped():
    assert _stderr_cell(NOISE).outputs == []


def test_stderr_that_is_not_noise_stays_among_noise():
    # What the old filter dropped whole because a word matched ("keras", "Warning"): a student's own
    # stderr, e.g. a logging call, stays and nbgrader scores it as ever.
    mine = "my debug line about keras layers\nWARNING:root:Warning: vocabulary is empty\n"
    out = _stderr_cell(NOISE + mine + NOISE).outputs
    assert len(out) == 1 and out[0].text.strip() == mine.strip()


def test_noise_matching_is_linear_on_a_pathological_chunk():
    # A megabyte with no newline that starts like a noise line and nearly matches many alternatives:
    # a backtracking pattern over the whole chunk would not return; per-line matching does at once.
    line = "I0000 00:00:1.1   1 a.cc:1" + " cpu_feature_guar" * 60_000 + "\n"
    assert sandbox.strip_stderr_noise(line * 3) == line * 3


def test_a_grading_kernel_sends_python_warnings_to_stdout():
    # The same code SandboxedExecute runs before the first cell, in a plain interpreter.
    import contextlib, io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        import warnings
        saved = warnings.showwarning
        try:
            exec(sandbox.WARNINGS_TO_STDOUT, {})
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                warnings.warn("softmax over a single unit", UserWarning)
        finally:
            warnings.showwarning = saved
    assert "UserWarning: softmax over a single unit" in out.getvalue()
    assert err.getvalue() == ""
