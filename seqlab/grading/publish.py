"""``make publish``: the student repository, built from ``release/`` in a folder of its own.

    python -m seqlab.grading.publish [--out DIR] [--repo OWNER/NAME] [--branch NAME] [--lab LAB ...]

This repository holds every reference solution and hidden test (``source/``), the grading engine
and the gradebook, so it stays private. Students get a separate git repository holding only:

- ``labs/<lab>/``: the released labs (``release/<lab>/``, exercises blank, no hidden test);
- ``seqlab/``: the helpers the notebooks import, without ``seqlab/grading`` and ``seqlab/bench.py``;
- ``requirements.txt``, ``pyproject.toml`` (the helpers only), ``binder/`` and ``Makefile``
  (``make lab``);
- ``jupyter-config/``: the student's JupyterLab: nbgrader's instructor tools disabled and locked,
  Validate kept;
- ``README.md``: Binder badge for ``--repo``, working locally, Validate, handing in.

The skeleton of those files is ``student/`` in this repository. The first publish creates the
folder as a git repository with one commit; publishing again into it replaces every tracked file and
adds one commit when something changed, so the student repository can be pushed without force.
Before anything is written, every released file is checked for solution and hidden-test markers.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = "../seqlab-student"
DEFAULT_REPO = "seqlab/seqlab-student"
DEFAULT_BRANCH = "main"
LABS_DIR = "labs"
# Never copied out of release/ (JupyterLab and Python leftovers, saved models).
IGNORED = (".ipynb_checkpoints", "__pycache__", "*.pyc", "*.keras", ".preflight")
# What a released file must never contain: nbgrader's markers around solutions and hidden tests.
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# Helper modules that belong to the instructor (bench imports the grading engine).
INSTRUCTOR_ONLY_HELPERS = ("grading", "bench.py")
_TITLE = re.compile(r"^#\s*Lab\s+\d+\s*[—–-]\s*(?P<title>.+?)\s*$")
_IMPORTS_INSTRUCTOR = re.compile(r"^\s*(?:(?:from|import)\s+(?:seqlab\.|\.)(?:grading|bench)\b"
                                 r"|from\s+(?:seqlab|\.)\s+import\s+.*\b(?:grading|bench)\b)", re.M)


class PublishError(Exception):
    """The student repository cannot be built as asked (nothing was changed)."""


@dataclass(frozen=True)
class Published:
    out: Path
    labs: list[str]
    commit: Optional[str]  # None when the student repository was already up to date
    files: list[str]       # `git ls-files` of the student repository


def released_labs(root: Path) -> list[str]:
    """Every ``release/<lab>/<lab>.ipynb``, sorted."""
    return sorted(p.parent.name for p in (root / "release").glob("*/*.ipynb") if p.stem == p.parent.name)


def lab_title(notebook: Path) -> str:
    """The title of ``# Lab NN — Title`` in the notebook's first cell (the folder name if none)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for line in (nb.cells[0].source.splitlines() if nb.cells else []):
        match = _TITLE.match(line)
        if match:
            return match["title"]
    return notebook.stem


def leaked_markers(folder: Path) -> list[str]:
    """``path: marker`` for every file under ``folder`` that holds a solution or hidden-test marker."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{path}: {m}" for m in LEAK_MARKERS if m in text]
    return found


def instructor_imports(root: Path) -> list[str]:
    """The helper modules students get that import an instructor-only one (they would fail there)."""
    helpers = root / "seqlab"
    shipped = [p for p in helpers.rglob("*.py")
               if not set(p.relative_to(helpers).parts) & {*INSTRUCTOR_ONLY_HELPERS, "__pycache__"}]
    return sorted(str(p.relative_to(root)) for p in shipped
                  if _IMPORTS_INSTRUCTOR.search(p.read_text(encoding="utf-8")))


def _copy_helpers(root: Path, dest: Path) -> None:
    """``seqlab/`` without the instructor's modules."""
    ignore = shutil.ignore_patterns(*IGNORED, *INSTRUCTOR_ONLY_HELPERS)
    shutil.copytree(root / "seqlab", dest, ignore=ignore, dirs_exist_ok=True)


def _labs_table(root: Path, labs: list[str]) -> str:
    return "\n".join(f"| [{lab}]({LABS_DIR}/{lab}/{lab}.ipynb) | {lab_title(root / 'release' / lab / f'{lab}.ipynb')} |"
                     for lab in labs)


def _helpers_version(root: Path) -> str:
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', (root / "seqlab" / "__init__.py").read_text(), re.M)
    if not match:
        raise PublishError("seqlab/__init__.py has no __version__")
    return match[1]


def build_tree(root: Path, dest: Path, labs: list[str], repo: str, branch: str) -> None:
    """Write the student repository's files into the (empty or new) folder ``dest``."""
    skeleton = root / "student"
    values = {"repo": repo, "name": repo.rsplit("/", 1)[-1], "branch": branch,
              "labs_table": _labs_table(root, labs), "version": _helpers_version(root)}
    for path in sorted(p for p in skeleton.rglob("*") if p.is_file()):
        rel = path.relative_to(skeleton)
        if any(part in ("__pycache__", ".ipynb_checkpoints") for part in rel.parts):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".in":
            target = target.with_suffix("")
            target.write_text(Template(path.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
        else:
            shutil.copy2(path, target)
    for lab in labs:
        shutil.copytree(root / "release" / lab, dest / LABS_DIR / lab, ignore=shutil.ignore_patterns(*IGNORED),
                        dirs_exist_ok=True)
    _copy_helpers(root, dest / "seqlab")
    shutil.copy2(root / "requirements.txt", dest / "requirements.txt")
    for name in ("requirements.txt", "runtime.txt"):
        shutil.copy2(root / "binder" / name, dest / "binder" / name)
    if (root / "LICENSE").exists():
        shutil.copy2(root / "LICENSE", dest / "LICENSE")


def _git(repo: Path, *args: str, env: Optional[dict] = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise PublishError(f"git {' '.join(args)} failed in {repo}:\n{done.stderr.strip()}")
    return done.stdout.strip()


def _source_commit(root: Path) -> str:
    """This repository's commit (with ``+changes`` when its working tree differs), or ``unknown``."""
    try:
        head = _git(root, "rev-parse", "--short", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--", "release", "seqlab", "student", "binder",
                     "requirements.txt")
        return head + ("+changes" if dirty else "")
    except (PublishError, FileNotFoundError):
        return "unknown"


def _prepare_repository(out: Path, branch: str) -> None:
    """A new git repository at ``out``, or the tracked files of an earlier publish removed."""
    if out.exists() and any(out.iterdir()):
        if not (out / ".git").exists():
            raise PublishError(f"{out} exists, is not empty and is not a git repository: "
                               "choose another OUT= (publish never overwrites a folder it did not make)")
        if _git(out, "status", "--porcelain"):
            raise PublishError(f"{out} has uncommitted changes: commit or discard them first")
        branches = _git(out, "branch", "--list", "--format=%(refname:short)").split()
        has_commit = subprocess.run(["git", "-C", str(out), "rev-parse", "--verify", "-q", "HEAD"],
                                    capture_output=True).returncode == 0
        if branch in branches:
            _git(out, "checkout", "-q", branch)
        elif has_commit:
            _git(out, "checkout", "-q", "-b", branch)
        else:
            _git(out, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
        tracked = [out / rel for rel in _git(out, "ls-files", "-z").split("\0") if rel]
        for path in tracked:
            path.unlink()
        for folder in sorted({p for path in tracked for p in path.parents if out in p.parents},
                             key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return
    out.mkdir(parents=True, exist_ok=True)
    _git(out, "init", "-q")
    _git(out, "symbolic-ref", "HEAD", f"refs/heads/{branch}")


def _commit_env(out: Path) -> dict:
    """The environment for ``git commit``: the user's identity, or a publisher's when none is set."""
    env = dict(os.environ)
    for key, fallback in (("user.name", "seqlab publish"), ("user.email", "seqlab-publish@localhost")):
        configured = subprocess.run(["git", "-C", str(out), "config", key], capture_output=True, text=True)
        if not configured.stdout.strip():
            kind = "NAME" if key == "user.name" else "EMAIL"
            env.setdefault(f"GIT_AUTHOR_{kind}", fallback)
            env.setdefault(f"GIT_COMMITTER_{kind}", fallback)
    return env


def publish(out: Path, root: Path = ROOT, repo: str = DEFAULT_REPO, branch: str = DEFAULT_BRANCH,
            labs: Optional[Sequence[str]] = None) -> Published:
    """Build (or update) the student repository at ``out`` and commit it; see the module's doc."""
    out, root = Path(out).resolve(), Path(root).resolve()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+", repo):
        raise PublishError(f"--repo must be OWNER/NAME as on GitHub, not {repo!r}")
    if out == root or root in out.parents:
        raise PublishError(f"{out} is inside this repository: the student repository needs a folder of its own")
    available = released_labs(root)
    chosen = sorted(labs) if labs else available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        raise PublishError(f"no such lab in release/: {', '.join(unknown)} (released: {', '.join(available)})")
    if not chosen:
        raise PublishError("release/ holds no lab: run `make release` first")
    leaks = [hit for lab in chosen for hit in leaked_markers(root / "release" / lab)]
    if leaks:
        raise PublishError("release/ holds solution or hidden-test markers; regenerate it with "
                           "`make release`:\n  " + "\n  ".join(leaks))

    importing = instructor_imports(root)
    if importing:
        raise PublishError(f"{', '.join(importing)} import an instructor-only module "
                           f"({', '.join(INSTRUCTOR_ONLY_HELPERS)}): students would not have it")

    _prepare_repository(out, branch)
    build_tree(root, out, chosen, repo, branch)
    _git(out, "add", "-A")
    commit = None
    if subprocess.run(["git", "-C", str(out), "diff", "--cached", "--quiet"]).returncode:
        message = (f"Labs {', '.join(chosen)}\n\nPublished from the seqlab course at "
                   f"{_source_commit(root)} by `make publish`.")
        _git(out, "commit", "-q", "-m", message, env=_commit_env(out))
        commit = _git(out, "rev-parse", "HEAD")
    files = _git(out, "ls-files").splitlines()
    return Published(out=out, labs=chosen, commit=commit, files=files)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqlab.grading.publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT),
                        help=f"the student repository's folder (default {DEFAULT_OUT})")
    parser.add_argument("--repo", default=DEFAULT_REPO,
                        help=f"the student repository on GitHub, OWNER/NAME: the Binder badge opens it (default {DEFAULT_REPO})")
    parser.add_argument("--branch", default=DEFAULT_BRANCH, help=f"branch to commit on (default {DEFAULT_BRANCH})")
    parser.add_argument("--lab", action="append", dest="labs", metavar="LAB",
                        help="publish only this lab (repeat for several); default: every lab in release/")
    args = parser.parse_args(argv)
    try:
        done = publish(args.out, repo=args.repo, branch=args.branch, labs=args.labs)
    except PublishError as err:
        print(f"publish: {err}", file=sys.stderr)
        return 1
    state = f"committed {done.commit[:12]}" if done.commit else "already up to date, nothing committed"
    print(f"student repository {done.out} (branch {args.branch}): {state}")
    print(f"  labs: {', '.join(done.labs)}")
    print(f"  {len(done.files)} files; Binder badge opens github.com/{args.repo}")
    print(f"  next: cd {done.out} && git remote add origin git@github.com:{args.repo}.git "
          f"&& git push -u origin {args.branch}   (once; later just git push)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
