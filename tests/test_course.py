"""The course layout: release/ is what nbgrader makes from source/, and leaks nothing."""
import re

import pytest

import harness
from seqlab.grading import course as course_dir

LABS = harness.labs()
ROOT = harness.ROOT
BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)(.*?)### END \1", re.S)


def _meta(cell):
    meta = dict(cell.metadata.get("nbgrader", {}))
    return meta


def test_every_lab_is_released():
    assert LABS, "no lab under source/"
    for lab in LABS:
        assert (ROOT / "release" / lab / f"{lab}.ipynb").is_file(), f"release/{lab} missing: run make release"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    course = harness.make_course(tmp_path_factory.mktemp("release"), LABS)
    course_dir.generate_release(course, LABS)
    return course


@pytest.mark.parametrize("lab", LABS)
def test_release_is_in_sync_with_source(lab, regenerated):
    fresh = harness.read(regenerated / "release" / lab / f"{lab}.ipynb")
    committed = harness.release_nb(lab)
    assert len(fresh.cells) == len(committed.cells), f"{lab}: run `make release` and commit release/"
    for i, (a, b) in enumerate(zip(fresh.cells, committed.cells)):
        assert a.cell_type == b.cell_type, f"{lab} cell {i}: run `make release`"
        assert a.source == b.source, f"{lab} cell {i} differs from source/: run `make release`"
        assert _meta(a) == _meta(b), f"{lab} cell {i} nbgrader metadata differs: run `make release`"
    extra = {p.name for p in (regenerated / "release" / lab).iterdir()}
    assert extra == {p.name for p in (ROOT / "release" / lab).iterdir()}


@pytest.mark.parametrize("lab", LABS)
def test_release_leaks_no_solution_or_hidden_test(lab):
    src_nb = harness.source_nb(lab)
    released = "\n".join(c.source for c in harness.release_nb(lab).cells)
    secret_lines, public_lines = set(), set()
    for cell in src_nb.cells:
        text = cell.source
        for m in BLOCK.finditer(text):
            secret_lines |= {l.strip() for l in m.group(2).splitlines() if l.strip()}
        public_lines |= {l.strip() for l in BLOCK.sub("", text).splitlines() if l.strip()}
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            secret_lines |= {l.strip() for l in text.splitlines() if l.strip()}
    secret_only = {l for l in secret_lines - public_lines if len(l) >= 8}
    assert secret_only, f"{lab}: found no solution text to check"
    leaked = sorted(l for l in secret_only if l in released)
    assert not leaked, f"{lab}: release/ shows solution or hidden-test lines: {leaked[:5]}"
    raw = (ROOT / "release" / lab / f"{lab}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in raw and "BEGIN HIDDEN TESTS" not in raw


@pytest.mark.parametrize("lab", LABS)
def test_source_is_committed_clean_and_has_the_course_shape(lab):
    nb = harness.source_nb(lab)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code"), f"{lab}: clear outputs before committing"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("Learning goals", "## Summary", "## Discussion"):
        assert heading in text, f"{lab}: missing '{heading}'"
    assert text.lstrip().startswith(f"# Lab {lab[:2]}"), f"{lab}: the first cell is the title"
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert any(c.cell_type == "markdown" for c in graded), f"{lab}: no manually graded discussion"
    ids = [c.metadata.nbgrader["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), f"{lab}: duplicate grade ids"
    for c in nb.cells:
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"):
            last = c.source.rstrip().splitlines()[-1] if c.source.strip() else ""
            assert not re.fullmatch(r"[\d.eE+-]+", last.strip()), \
                f"{lab}: a test cell must not end with a bare number (nbgrader reads it as a score)"
            assert "import " not in c.source, \
                f"{lab}: keep imports out of test cells ({c.metadata.nbgrader['grade_id']})"
