"""Test-session environment, set before any notebook kernel starts (kernels inherit it)."""
import os
from pathlib import Path

# Tests and nbval runs are always at smoke scale unless the caller chose otherwise.
os.environ.setdefault("SEQLAB_SCALE", "smoke")
# Prepared, read-only datasets beside the checkout, when they are there.
_shared = Path(__file__).resolve().parent.parent / "shared" / "tensorflow_datasets"
if not os.environ.get("TFDS_DATA_DIR") and _shared.is_dir():
    os.environ["TFDS_DATA_DIR"] = str(_shared)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


import pytest  # noqa: E402


# tryfirst: pytest-xdist turns the mark into the "@group" suffix of the node id in its own
# pytest_collection_modifyitems; a mark added after that hook is silently ignored.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (--dist loadgroup), keep each file on one worker — a notebook's cells
    share one kernel and a module's fixtures run once — except the per-lab grading tests, which
    are independent and the slowest, so the two workers share them out."""
    for item in items:
        if item.path.name != "test_grading.py":
            item.add_marker(pytest.mark.xdist_group(str(item.path)))
    # xdist hands work out in collection order: start the minutes-long nbgrader runs first, so that
    # none is left to run alone at the end. Rough order of cost: the per-lab grading tests, later
    # labs first, with the adversarial batch in tests/grading/ (about Lab 06's time) among them.
    def cost_rank(item) -> float:
        if item.path.name == "test_grading.py":
            return -int(item.callspec.params["lab"][:2])
        if item.path.name == "test_student_labs_full_marks.py":  # every lab at smoke scale, ~4 min
            return -6
        return -6.5 if item.path.parent.name == "grading" else 0
    items.sort(key=cost_rank)


def pytest_configure(config):
    if (not hasattr(config, "workerinput") and config.getoption("dist", "no") == "loadgroup"
            and tuple(int(p) for p in pytest.__version__.split(".")[:2]) >= (9, 2)):
        raise pytest.UsageError(f"pytest {pytest.__version__} breaks pytest-xdist's --dist loadgroup "
                                "(pytest-dev/pytest-xdist#1386): install requirements.txt (pytest 9.1.1)")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Fail loudly if the grouping did not take (on a worker, every grouped id ends in "@group").

    pytest 9.2.0 with pytest-xdist 3.8.0 ignores the suffix (pytest-dev/pytest-xdist#1386): tests
    of one file then land on both workers, a notebook's cells run in two kernels, and the
    adversarial batch is graded twice. requirements.txt pins pytest 9.1.1 for that reason."""
    config = session.config
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    lost = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if lost:
        raise pytest.UsageError(f"pytest-xdist --dist loadgroup ignored the xdist_group of {len(lost)} "
                                f"tests (e.g. {lost[0]}): see conftest.py")
