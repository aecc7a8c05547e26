"""The course layout: labs, nbgrader's API for a course root, ``release/``, and the demo class."""
from __future__ import annotations

import copy
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Optional

import nbformat

DEMO_SOLUTIONS = "demo-solutions"
DEMO_BLANK = "demo-blank"
DEMO_STUDENTS = (DEMO_SOLUTIONS, DEMO_BLANK)
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def labs_in(root: Path) -> list[str]:
    """Every ``source/<lab>/<lab>.ipynb``, sorted."""
    return sorted(p.parent.name for p in (root / "source").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def api_for(root: Path, overrides: Optional[dict] = None):
    """An ``NbGraderAPI`` configured from ``<root>/nbgrader_config.py``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader's Gradebook runs the `alembic` command: make this interpreter's scripts findable
    # even when the virtual environment was not activated.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.merge(Config({"CourseDirectory": {"root": str(root)}}))
    if overrides:
        config.merge(Config(overrides))
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir, config=config)


#: What ``generate_release(only_changed=True)`` last released, per lab: a digest of its inputs.
RELEASE_STAMPS = Path("autograded") / ".seqlab-release.json"


def generate_release(root: Path, labs: list[str], api=None, *, only_changed: bool = False) -> list[str]:
    """``nbgrader generate_assignment`` for each lab: ``source/`` -> ``release/`` and the gradebook.

    With ``only_changed``, a lab whose source, release, ``nbgrader_config.py`` and gradebook are as
    they were when it was last released here is left as it is (generate_assignment costs seconds a
    lab, on every ``make grade``). Returns the labs released."""
    import json

    api = api or api_for(root)
    stamps_file = root / RELEASE_STAMPS
    stamps = json.loads(stamps_file.read_text()) if only_changed and stamps_file.exists() else {}
    released = []
    for lab in labs:
        digest = _release_digest(root, lab, api) if only_changed else None
        if digest is not None and stamps.get(lab) == digest:
            continue
        out = api.generate_assignment(lab, force=True)
        if not out["success"]:
            raise RuntimeError(f"generate_assignment {lab} failed:\n{out['log']}\n{out.get('error')}")
        released.append(lab)
        if only_changed:
            stamps[lab] = _release_digest(root, lab, api)
            stamps_file.parent.mkdir(exist_ok=True)
            stamps_file.write_text(json.dumps(stamps, indent=1, sort_keys=True) + "\n")
    return released


def _release_digest(root: Path, lab: str, api) -> Optional[str]:
    """What a lab's release is made of, or None when the gradebook does not hold the lab."""
    from nbgrader.api import Gradebook, MissingEntry

    from .task import digest_of, read_folder

    db_url = api.coursedir.db_url
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).exists():
        return None
    try:
        with Gradebook(db_url) as gb:
            cells = sorted((c.name, c.max_score) for nb in gb.find_assignment(lab).notebooks for c in nb.grade_cells)
    except MissingEntry:
        return None
    files = {f"{part}/{name}": data for part in ("source", "release")
             for name, data in read_folder(root / part / lab).items()}
    files["nbgrader_config.py"] = (root / "nbgrader_config.py").read_bytes()
    # The gradebook by where it is: a SQLite file inside the course by its place in the course, so a
    # course moved or copied whole (stamps, gradebook and all) keeps its stamps.
    where = db_url
    for path in {os.path.abspath(root), str(Path(root).resolve()), os.path.abspath(api.coursedir.root)}:
        where = where.replace(f"sqlite:///{path}/", "sqlite:///<course>/")
    return digest_of(files, where, repr(cells))


def strip_solution_markers(source: str) -> str:
    """The reference solution as a student would type it: without nbgrader's markers."""
    return "\n".join(l for l in source.splitlines() if not _MARKER.match(l))


def solved_notebook(source_nb, release_nb):
    """The release notebook with every answer cell filled in from the source notebook."""
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in source_nb.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = strip_solution_markers(answers[meta["grade_id"]])
    return nb


def write_demo_class(root: Path, labs: list[str]) -> None:
    """``submitted/demo-solutions`` and ``submitted/demo-blank`` for every lab."""
    for lab in labs:
        release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
        source = nbformat.read(root / "source" / lab / f"{lab}.ipynb", as_version=4)
        for student, nb in ((DEMO_BLANK, release), (DEMO_SOLUTIONS, solved_notebook(source, release))):
            folder = root / "submitted" / student / lab
            if folder.exists():
                shutil.rmtree(folder)
            shutil.copytree(root / "release" / lab, folder)
            nbformat.write(nb, folder / f"{lab}.ipynb")


def students_in(root: Path) -> list[str]:
    sub = root / "submitted"
    return sorted(p.name for p in sub.iterdir() if p.is_dir()) if sub.is_dir() else []


