"""The student repository, built once per test file into a temporary folder."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (harness, mutants)

from seqlab.grading import publish  # noqa: E402

STUDENT_REPO = "example-school/seqlab-student"


@pytest.fixture(scope="module")
def student_repo(tmp_path_factory) -> Path:
    """``make publish`` of every released lab, as a fresh git repository (the folder's path)."""
    out = tmp_path_factory.mktemp("handout") / "seqlab-student"
    done = publish.publish(out, repo=STUDENT_REPO)
    assert done.commit and done.files
    return out
