"""The student repository's labs, with the reference answers typed in, run top to bottom at smoke
scale in the student tree's own environment and pass every test cell: the published helpers suffice.

The kernel is this virtual environment's Python with the student tree first on ``PYTHONPATH`` and
this repository's editable ``seqlab`` install taken out of the import system, so ``seqlab`` is the
student tree's and ``seqlab.grading`` cannot be imported. Grading with nbgrader's whole machinery is
tests/test_grading.py's job; here a test cell earns its points when it raises nothing and writes
nothing to stderr but the noise the grader drops (what nbgrader would score 0). As in a grading
kernel, Python warnings go to stdout.
"""
import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

import harness
from seqlab.grading import course
from seqlab.grading.kernel import WARNINGS_TO_STDOUT, strip_stderr_noise

KERNEL = "seqlab-student"
# Run as `python -c KERNEL_MAIN -f {connection_file}`: forget the editable install of this
# repository's seqlab (a meta-path finder and a path hook), then start an ordinary IPython kernel.
KERNEL_MAIN = (
    "import sys\n"
    "_mine = lambda f: getattr(f, '__module__', '').startswith('__editable__')\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if not _mine(f)]\n"
    "sys.path_hooks[:] = [h for h in sys.path_hooks if not _mine(h)]\n"
    "sys.path_importer_cache.clear()\n"
    "from ipykernel import kernelapp\n"
    "kernelapp.launch_new_instance()\n"
)


def _check_cell(student_root: Path) -> str:
    return ("import importlib.util, seqlab\n"
            f"assert seqlab.__file__.startswith({str(student_root) + '/'!r}), seqlab.__file__\n"
            "assert importlib.util.find_spec('seqlab.grading') is None, 'the grading engine is importable'\n"
            "assert importlib.util.find_spec('seqlab.bench') is None\n")


@pytest.fixture(scope="module")
def kernels(tmp_path_factory, student_repo) -> KernelSpecManager:
    folder = tmp_path_factory.mktemp("kernels")
    (folder / KERNEL).mkdir()
    spec = {"argv": [sys.executable, "-c", KERNEL_MAIN, "-f", "{connection_file}"],
            "display_name": "seqlab student", "language": "python",
            "env": {"PYTHONPATH": str(student_repo), "SEQLAB_SCALE": "smoke", "MPLBACKEND": "Agg"}}
    (folder / KERNEL / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(folder)])


def test_the_student_kernel_has_no_grading_engine(kernels, student_repo):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_check_cell(student_repo))])
    harness.execute_in(nb, KERNEL, kernels, student_repo, timeout=120)
    # ...and the same check in this test's own interpreter would fail: the guard means something.
    import importlib.util
    assert importlib.util.find_spec("seqlab.grading") is not None


@pytest.mark.parametrize("lab", harness.labs())
def test_reference_answers_get_full_marks_in_the_student_tree(lab, kernels, student_repo):
    folder = student_repo / "labs" / lab
    nb = course.solved_notebook(harness.source_nb(lab), nbformat.read(folder / f"{lab}.ipynb", as_version=4))
    nb.cells.insert(0, nbformat.v4.new_code_cell(_check_cell(student_repo)))
    nb.cells.insert(0, nbformat.v4.new_code_cell(WARNINGS_TO_STDOUT))  # as the grading kernel does
    harness.execute_in(nb, KERNEL, kernels, folder, timeout=600)  # raises on any error
    earned, possible, lost = 0.0, 0.0, []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        possible += float(meta["points"])
        stderr = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
        kept = strip_stderr_noise(stderr).splitlines()
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if cell.execution_count and not errors and not kept:
            earned += float(meta["points"])
        else:
            lost.append(f"{meta['grade_id']}: {errors or kept}")
    assert possible > 0, f"{lab}: no test cell"
    assert earned == possible, f"{lab}: {earned}/{possible}; lost {lost}"
