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


def execute_in(nb, kernel_name: str, kernels, cwd: Path, timeout: int, env: dict | None = None) -> None:
    """Run ``nb`` in a fresh ``kernel_name`` kernel from the spec manager ``kernels``, then shut the
    kernel down: nbclient leaves a kernel it was handed (``km=``) running, ~0.9 GB each with
    TensorFlow, until the test process ends."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    km = KernelManager(kernel_name=kernel_name, kernel_spec_manager=kernels)
    try:
        client = NotebookClient(nb, km=km, timeout=timeout, resources={"metadata": {"path": str(cwd)}})
        client.execute(**({"env": env} if env is not None else {}))  # env=None would reach the kernel's Popen
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)


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
    """(names a cell defines or changes, names it reads without defining them) — a static, generous guess.

    Scopes are followed: a function's parameters and the names it assigns are its own, and so are a
    comprehension's loop variables, so they are neither defined by the cell nor read from before it.
    A name a function reads and does not bind is read from the cell's globals (when it is called)."""
    import ast

    code = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))
    stored, loaded = set(), set()

    def bound_in(body: list, args: ast.arguments | None = None) -> set[str]:
        """Names local to a function (or class body): its parameters and what it binds, nested scopes
        left out; minus what it declares global or nonlocal."""
        local, declared = set(), set()
        if args is not None:
            local |= {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            local |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        todo = list(body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                local.add(node.name)
                todo.extend(node.decorator_list)
                continue
            if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                continue
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                declared |= set(node.names)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                local.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                local |= {a.asname or a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ExceptHandler) and node.name:
                local.add(node.name)
            todo.extend(ast.iter_child_nodes(node))
        return local - declared

    def visit(node: ast.AST, local: frozenset) -> None:
        """Record what ``node`` defines at the cell's top level and reads from outside; ``local``:
        the names bound by the functions and comprehensions around it."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                if node.name not in local:
                    stored.add(node.name)
                for d in node.decorator_list:
                    visit(d, local)
            for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                visit(d, local)
            body = node.body if isinstance(node.body, list) else [node.body]
            inner = local | bound_in(body, node.args)
            for child in body:
                visit(child, frozenset(inner))
            return
        if isinstance(node, ast.ClassDef):
            if node.name not in local:
                stored.add(node.name)
            for child in node.bases + node.keywords + node.decorator_list:
                visit(child, local)
            inner = local | bound_in(node.body)
            for child in node.body:
                visit(child, frozenset(inner))
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            targets = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            inner = frozenset(local | targets)
            visit(node.generators[0].iter, local)  # evaluated in the enclosing scope
            for i, g in enumerate(node.generators):
                if i:
                    visit(g.iter, inner)
                for cond in g.ifs:
                    visit(cond, inner)
            for elt in ([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]):
                visit(elt, inner)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            stored.update(n for n in (a.asname or a.name.split(".")[0] for a in node.names) if n not in local)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                if node.id not in local:
                    loaded.add(node.id)
            elif node.id not in local:  # at the top level, or declared global in a function
                stored.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name) and base.id not in local:
                stored.add(base.id)  # ``results[name] = row`` changes ``results``, even inside a function
        for child in ast.iter_child_nodes(node):
            visit(child, local)

    for statement in ast.parse(code).body:
        visit(statement, frozenset())
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


HIDDEN_FAILED = "a hidden test failed (hidden tests are not shown)"


def hidden_messages_shown() -> bool:
    """Whether feedback keeps a failed hidden test's assertion message (it never keeps its code).

    seqlab.grading.kernel.ClearHiddenTracebacks decides; with the message hidden, a hidden test's
    failure reads as ``HIDDEN_FAILED`` only."""
    import nbformat
    from nbformat.v4 import new_code_cell

    from seqlab.grading.kernel import ClearHiddenTracebacks

    cell = new_code_cell("### BEGIN HIDDEN TESTS\nassert f(21) == 42, 'check the loop bound'\n### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False}
    cell.outputs = [nbformat.from_dict({
        "output_type": "error", "ename": "AssertionError", "evalue": "check the loop bound",
        "traceback": ["----> 2 assert f(21) == 42, 'check the loop bound'", "AssertionError: check the loop bound"]})]
    out, _ = ClearHiddenTracebacks().preprocess_cell(cell, {}, 0)
    return "check the loop bound" in out.outputs[0].evalue


def feedback_text(course: Path, student: str, lab: str) -> str:
    """The text of the feedback page ``student`` gets for ``lab`` (written when it was graded)."""
    pages = sorted((course / "feedback" / student / lab).glob("*.html"))
    assert pages, f"no feedback page for {student}/{lab}"
    return "\n".join(html_text(p.read_text()) for p in pages)
