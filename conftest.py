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


def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (--dist loadgroup), keep each file on one worker — a notebook's cells
    share one kernel and a module's fixtures run once — except the per-lab grading tests, which
    are independent and the slowest, so the two workers share them out."""
    import pytest

    for item in items:
        if item.path.name != "test_grading.py":
            item.add_marker(pytest.mark.xdist_group(str(item.path)))
