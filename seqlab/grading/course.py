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


def generate_release(root: Path, labs: list[str], api=None) -> None:
    """``nbgrader generate_assignment`` for each lab: ``source/`` -> ``release/``."""
    api = api or api_for(root)
    for lab in labs:
        out = api.generate_assignment(lab, force=True)
        if not out["success"]:
            raise RuntimeError(f"generate_assignment {lab} failed:\n{out['log']}\n{out.get('error')}")




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


