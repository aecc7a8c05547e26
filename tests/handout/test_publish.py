"""`make publish` refuses what would leak or lose work, and publishing again adds one commit."""
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

import harness
from seqlab.grading import publish


def _commits(repo: Path) -> list[str]:
    return subprocess.run(["git", "-C", repo, "log", "--format=%s"], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_publishing_again_commits_only_changes(tmp_path):
    out = tmp_path / "student"
    lab, later = harness.labs()[:2]
    first = publish.publish(out, labs=[lab], branch="spring")
    assert first.commit and f"labs/{lab}/{lab}.ipynb" in first.files
    assert not any(f.startswith(f"labs/{later}/") for f in first.files)
    assert publish.publish(out, labs=[lab], branch="spring").commit is None  # nothing changed
    second = publish.publish(out, labs=[lab, later], branch="spring")
    assert second.commit and f"labs/{later}/{later}.ipynb" in second.files
    assert _commits(out) == [f"Labs {lab}, {later}", f"Labs {lab}"]
    head = subprocess.run(["git", "-C", out, "symbolic-ref", "--short", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert head == "spring"


def test_refuses_a_folder_it_did_not_make_and_unknown_labs(tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("mine")
    with pytest.raises(publish.PublishError, match="not a git repository"):
        publish.publish(busy)
    assert [p.name for p in busy.iterdir()] == ["thesis.tex"]
    with pytest.raises(publish.PublishError, match="no such lab"):
        publish.publish(tmp_path / "new", labs=["99-nope"])
    with pytest.raises(publish.PublishError, match="inside this repository"):
        publish.publish(harness.ROOT / "release" / "student")


def test_refuses_to_publish_a_release_that_holds_a_solution(tmp_path):
    root = tmp_path / "course"
    lab = harness.labs()[0]
    for part in ("student", "seqlab", "binder"):
        shutil.copytree(harness.ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(harness.ROOT / "requirements.txt", root)
    (root / "release" / lab).mkdir(parents=True)
    nbformat.write(harness.source_nb(lab), root / "release" / lab / f"{lab}.ipynb")
    with pytest.raises(publish.PublishError, match="BEGIN SOLUTION"):
        publish.publish(tmp_path / "out", root=root)
    assert not (tmp_path / "out").exists()


def test_refuses_helpers_that_import_the_grading_engine(tmp_path):
    root = tmp_path / "course"
    for part in ("student", "seqlab", "binder", "release"):
        shutil.copytree(harness.ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(harness.ROOT / "requirements.txt", root)
    assert publish.instructor_imports(root) == []
    plots = root / "seqlab" / "plots.py"
    plots.write_text(plots.read_text() + "\nfrom .grading.course import labs_in\n")
    with pytest.raises(publish.PublishError, match="seqlab/plots.py import an instructor-only module"):
        publish.publish(tmp_path / "out", root=root)
    assert not (tmp_path / "out").exists()
