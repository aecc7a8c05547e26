"""Grade notebooks with the course's own nbgrader set-up, in a throw-away copy of the course."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat

from seqlab.grading import autograde as grading, course as course_dir

ROOT = Path(__file__).resolve().parents[1]


def labs() -> list[str]:
    return course_dir.labs_in(ROOT)


def read(path: Path):
    return nbformat.read(path, as_version=4)


def source_nb(lab: str):
    return read(ROOT / "source" / lab / f"{lab}.ipynb")


def release_nb(lab: str):
    return read(ROOT / "release" / lab / f"{lab}.ipynb")


def solved(lab: str):
    """The committed release notebook with the reference solutions typed in, as a student would."""
    return course_dir.solved_notebook(source_nb(lab), release_nb(lab))


def with_answer(nb, grade_id: str, new_source: str):
    """A copy of ``nb`` whose answer cell ``grade_id`` holds ``new_source``."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cells) == 1, f"no answer cell {grade_id!r}"
    cells[0].source = new_source
    return nb


def test_points(lab: str) -> dict[str, float]:
    """{grade_id: points} of the autograded test cells of ``lab``."""
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
            for c in source_nb(lab).cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}


def make_course(tmp: Path, labs_: list[str]) -> Path:
    """A minimal course directory in ``tmp``: the config and the labs' source folders."""
    course = tmp / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for lab in labs_:
        shutil.copytree(ROOT / "source" / lab, course / "source" / lab,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return course


def autograde(tmp: Path, lab: str, submissions: dict, overrides: dict | None = None):
    """Release ``lab`` in a temporary course, autograde ``{student: notebook}``.

    Returns ``(scores, results)``: ``scores[student][grade_id]`` for every test cell, and the
    per-student :class:`seqlab.grading.autograde.Result` list.
    """
    course = make_course(tmp, [lab])
    api = course_dir.api_for(course, overrides)
    course_dir.generate_release(course, [lab], api)
    for student, nb in submissions.items():
        folder = course / "submitted" / student / lab
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{lab}.ipynb")
    results = grading.autograde(course, [lab], sorted(submissions), api)
    return scores(course, lab, list(submissions)), results


def scores(course: Path, lab: str, students: list[str]) -> dict[str, dict[str, float]]:
    """``scores[student][test cell grade_id]`` from the course's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(course_dir.api_for(course).coursedir.db_url) as gb:
        for student in students:
            try:
                sub = gb.find_submission(lab, student)
            except MissingEntry:
                continue
            out[student] = {g.name: g.score for nb_ in sub.notebooks for g in nb_.grades
                            if g.cell.cell_type == "code"}
    return out


def hidden_test_lines(lab: str, min_length: int = 8) -> list[str]:
    """Lines of ``lab``'s hidden tests that appear nowhere else in its source notebook."""
    import re

    block = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
    secret, public = set(), set()
    for cell in source_nb(lab).cells:
        for m in block.finditer(cell.source):
            secret |= {l.strip() for l in m.group(1).splitlines() if l.strip()}
        public |= {l.strip() for l in block.sub("", cell.source).splitlines() if l.strip()}
    return sorted(l for l in secret - public if len(l) >= min_length)


def html_text(html: str) -> str:
    """The text a reader sees in an HTML page (tags dropped, entities decoded)."""
    import html as html_lib
    import re

    text = re.sub(r"<style.*?</style>|<script.*?</script>", "", html, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text))


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell defines or changes, names it reads without defining them) — a static, generous guess."""
    import ast

    code = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))
    stored, loaded = set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stored |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                stored.add(base.id)  # ``results[name] = row`` changes ``results``
    return stored, loaded - stored


def answer_dependencies(lab: str) -> dict[str, set[str]]:
    """{test cell grade_id: the answer cells (grade_ids) whose code it may run, directly or through the
    cells before it}: a name a cell reads comes from the last cell before it that defines it."""
    cells = [c for c in source_nb(lab).cells if c.cell_type == "code"]
    names = [_names(c.source) for c in cells]
    meta = [c.metadata.get("nbgrader", {}) for c in cells]
    grade_id = [m.get("grade_id") for m in meta]
    answers = {m["grade_id"] for m in meta if m.get("solution")}
    deps: list[set[str]] = []
    for i, (_, free) in enumerate(names):
        found: set[str] = set()
        for name in free:
            j = next((j for j in range(i - 1, -1, -1) if name in names[j][0]), None)
            if j is not None:
                found |= deps[j] | ({grade_id[j]} & answers)
        deps.append(found)
    return {m["grade_id"]: d for m, d in zip(meta, deps) if m.get("grade")}


def pack_mutants(lab: str, mutants: list[dict]) -> list[list[dict]]:
    """Share out ``mutants`` into as few submissions as can be graded together without one mistake
    hiding another: members of a submission change different answer cells, must fail different
    test cells, and no test cell one of them must fail can run another member's answer."""
    deps = answer_dependencies(lab)
    packs: list[list[dict]] = []

    def compatible(a: dict, b: dict) -> bool:
        return (a["cell"] != b["cell"] and not set(a["fails"]) & set(b["fails"])
                and not any(b["cell"] in deps[t] for t in a["fails"])
                and not any(a["cell"] in deps[t] for t in b["fails"]))

    for m in mutants:
        pack = next((p for p in packs if all(compatible(m, o) for o in p)), None)
        if pack is None:
            packs.append(pack := [])
        pack.append(m)
    return packs
