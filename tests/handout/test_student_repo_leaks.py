"""The student repository holds no solution, no hidden test and no instructor-only file.

Every file is searched, not only the notebooks: the secrets are the lines between nbgrader's
``BEGIN SOLUTION`` / ``BEGIN HIDDEN TESTS`` markers in ``source/`` (and the source's answers to
written questions) that appear nowhere else in the source notebooks.
"""
import json
import re
import subprocess
from pathlib import Path

import nbformat

import harness
from conftest import STUDENT_REPO

BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)(.*?)### END \1", re.S)
# Instructor-only paths: any file or folder of these names, anywhere in the student repository.
INSTRUCTOR_NAMES = {"source", "tests", "mutants", "grading", "gradebook.db", "grades.csv", "submitted",
                    "autograded", "feedback", "bench", "bench.py", "student", ".ci", "conftest.py"}
# Text that only the instructor's side has: the grading engine and nbgrader's course settings.
INSTRUCTOR_TEXT = ("seqlab.grading", "seqlab/grading", "from .grading", "BEGIN SOLUTION", "END SOLUTION",
                   "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "CourseDirectory", "Autograde.",
                   "GenerateFeedback", "ClearHiddenTests", "SandboxedExecute", "OverwriteCells",
                   "IgnorePattern", "gradebook")


def secret_lines() -> dict[str, str]:
    """{line: lab} of every solution / hidden-test line (8+ characters) found only inside a block."""
    secret, public = {}, set()
    for lab in harness.labs():
        for cell in harness.source_nb(lab).cells:
            for m in BLOCK.finditer(cell.source):
                secret.update({l.strip(): lab for l in m.group(2).splitlines() if l.strip()})
            public |= {l.strip() for l in BLOCK.sub("", cell.source).splitlines() if l.strip()}
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
                secret.update({l.strip(): lab for l in cell.source.splitlines() if l.strip()})
    return {line: lab for line, lab in secret.items() if line not in public and len(line) >= 8}


def every_file(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts)


def texts(path: Path) -> list[str]:
    """The file's text, and for a notebook also its cells' sources and outputs decoded from JSON."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    found = [raw]
    if path.suffix == ".ipynb":
        nb = nbformat.reads(raw, as_version=4)
        found += [c.source for c in nb.cells]
        found += [json.dumps(o) for c in nb.cells for o in c.get("outputs", [])]
    return found


def lines_of(path: Path) -> set[str]:
    """Every stripped line of the file, also read as a JSON string literal where it is one
    (a line of a notebook's JSON), and every line of a notebook's cell sources and outputs."""
    found = set()
    for text in texts(path):
        for line in text.splitlines():
            found.add(line.strip())
            literal = line.strip().rstrip(",")
            if literal.startswith('"') and literal.endswith('"'):
                try:
                    found |= {l.strip() for l in json.loads(literal).splitlines()}
                except ValueError:
                    pass
    return found


def test_publish_is_one_commit_of_exactly_the_files_on_disk(student_repo):
    tracked = subprocess.run(["git", "-C", student_repo, "ls-files"], capture_output=True, text=True,
                             check=True).stdout.split()
    on_disk = [str(p.relative_to(student_repo)) for p in every_file(student_repo)]
    assert sorted(tracked) == on_disk
    log = subprocess.run(["git", "-C", student_repo, "log", "--format=%H"], capture_output=True, text=True,
                         check=True).stdout.split()
    assert len(log) == 1
    labs = sorted(p.parent.name for p in (student_repo / "labs").glob("*/*.ipynb"))
    assert labs == harness.labs()


def test_no_solution_or_hidden_test_line_anywhere(student_repo):
    """Line by line (a short solution line such as ``continue`` is also a word of the prose)."""
    secrets = secret_lines()
    assert len(secrets) > 100, "found too few solution lines to make this check mean anything"
    leaked = []
    for path in every_file(student_repo):
        shown = lines_of(path)
        for line, lab in secrets.items():
            if line in shown:
                leaked.append(f"{path.relative_to(student_repo)}: {line!r} (from {lab})")
    assert not leaked, "the student repository shows solution or hidden-test lines:\n" + "\n".join(leaked[:20])


def test_no_instructor_only_file_or_setting(student_repo):
    files = every_file(student_repo)
    names = [p.relative_to(student_repo) for p in files]
    bad_paths = [str(n) for n in names if INSTRUCTOR_NAMES & set(n.parts)]
    assert not bad_paths, f"instructor-only paths in the student repository: {bad_paths}"
    assert not (student_repo / "nbgrader_config.py").exists(), "the course's nbgrader_config.py was published"
    bad_text = [f"{n}: {t!r}" for p, n in zip(files, names) for t in INSTRUCTOR_TEXT
                if any(t in text for text in texts(p))]
    assert not bad_text, "instructor-only text in the student repository:\n" + "\n".join(bad_text)


def test_the_student_readme_and_badge_point_at_the_student_repository(student_repo):
    readme = (student_repo / "README.md").read_text()
    assert f"https://mybinder.org/v2/gh/{STUDENT_REPO}/main?urlpath=lab/tree/labs" in readme
    assert f"git clone https://github.com/{STUDENT_REPO}.git" in readme
    for lab in harness.labs():
        assert f"labs/{lab}/{lab}.ipynb" in readme
    assert "${" not in readme and "make lab" in readme and "SEQLAB_SCALE=smoke" in readme and "Validate" in readme


def test_the_search_finds_a_planted_solution_and_hidden_test(student_repo, tmp_path):
    """The search above can fail: a solved notebook and a hidden-test line in a helper are caught."""
    lab = harness.labs()[0]
    secrets = secret_lines()
    solved = tmp_path / f"{lab}.ipynb"
    nbformat.write(harness.solved(lab), solved)
    assert set(secrets) & lines_of(solved), "a notebook with the reference answers typed in went unnoticed"
    hidden = next(l for cell in harness.source_nb(lab).cells for kind, body in BLOCK.findall(cell.source)
                  if kind == "HIDDEN TESTS" for l in (x.strip() for x in body.splitlines()) if l in secrets)
    helper = tmp_path / "data.py"
    helper.write_text((student_repo / "seqlab" / "data.py").read_text() + f"\n# {hidden}\n    {hidden}\n")
    assert hidden in lines_of(helper)
