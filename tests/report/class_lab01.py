"""A synthetic Lab 01 class, graded once with the course's real machinery (``harness.autograde``).

Eight notebooks, each proving something in the report: the reference solutions and the blank
release; Lab 01's wrong answers from ``tests/mutants/`` (packed as ``test_grading.py`` packs them);
two students who hand in one ``pad_or_truncate`` with every variable renamed, comments and layout
changed; two students with answers of their own (one of them makes a mutant's mistake in ``encode``
in words of their own: the two are one wrong-answer group); and one whose notebook never ends, graded
with a whole-submission budget of a few seconds (``SEQLAB_GRADING_WALL_S``) so that ``grades.csv``
records it as timed out.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

import harness
from grading.submissions import ALTERNATIVE
from seqlab.grading import autograde as grading, course as course_dir
from seqlab.grading.results import collect, write_csv

LAB = "01-tokenization"
WALL_S = 8  # the looping student's whole-submission budget, in seconds

COPIED = '''def pad_or_truncate(seqs, maxlen, padding="pre", truncating="pre"):
    # one row per sequence, zeros where nothing is written
    out = np.zeros((len(seqs), maxlen), dtype="int32")
    for row, seq in enumerate(seqs):
        seq = list(seq)
        if len(seq) > maxlen:
            seq = seq[len(seq) - maxlen:] if truncating == "pre" else seq[:maxlen]
        if len(seq) == 0:
            continue
        if padding == "pre":
            out[row, maxlen - len(seq):] = seq
        else:
            out[row, :len(seq)] = seq
    return out
'''
# The same answer, every name it binds renamed, comments and blank lines changed.
COPIED_RENAMED = '''def pad_or_truncate(sequences, length, padding="pre", truncating="pre"):
    result = np.zeros((len(sequences), length), dtype="int32")

    for r, s in enumerate(sequences):
        s = list(s)
        if len(s) > length:   # cut
            s = s[len(s) - length:] if truncating == "pre" else s[:length]
        if len(s) == 0:
            continue

        if padding == "pre":
            result[r, length - len(s):] = s
        else:
            result[r, :len(s)] = s
    return result
'''
HONEST = {
    "honest-1": {
        "pad_or_truncate": ALTERNATIVE["pad_or_truncate"],  # tests/grading's own honest answer
        # Lab 01's mutant "encode-drops-unknown-tokens" again, names and layout of its own.
        "encode": '''def encode(sentence, ids):
    # keep the tokens we know
    return [ids[w]
            for w in tokenize(sentence) if w in ids]
'''},
    "honest-2": {
        "pad_or_truncate": '''def pad_or_truncate(seqs, maxlen, padding="pre", truncating="pre"):
    X = np.full((len(seqs), maxlen), 0, dtype=np.int32)
    for i in range(len(seqs)):
        s = np.asarray(seqs[i], dtype=np.int32)
        if s.size > maxlen:
            s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        start = maxlen - s.size if padding == "pre" else 0
        X[i, start:start + s.size] = s
    return X
''',
        "build_vocab": '''PAD, OOV = "", "[UNK]"


def build_vocab(texts, max_tokens=None):
    c = Counter()
    for t in texts:
        c.update(tokenize(t))
    words = [w for w, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]
    if max_tokens is not None:
        words = words[:max(0, max_tokens - 2)]
    return {PAD: 0, OOV: 1, **{w: i + 2 for i, w in enumerate(words)}}
'''},
}
LOOP = "\n\nwhile True:  # never ends\n    pass\n"


def mutants() -> list[dict]:
    return importlib.import_module(f"mutants.lab{LAB[:2]}").MUTANTS


@dataclass
class GradedClass:
    course: Path
    packs: dict[str, list[dict]]      # student -> the mutants in their notebook
    copy_pair: tuple[str, str]
    timed_out: str


def submissions() -> tuple[dict, dict[str, list[dict]]]:
    solved = harness.solved(LAB)
    subs = {"solutions": solved, "blank": harness.release_nb(LAB),
            "copy-a": harness.with_answer(solved, "pad_or_truncate", COPIED),
            "copy-b": harness.with_answer(solved, "pad_or_truncate", COPIED_RENAMED)}
    for student, answers in HONEST.items():
        nb = solved
        for cell, code in answers.items():
            nb = harness.with_answer(nb, cell, code)
        subs[student] = nb
    packs = {}
    for i, pack in enumerate(harness.pack_mutants(LAB, mutants())):
        nb = solved
        for m in pack:
            nb = harness.with_answer(nb, m["cell"], m["source"])
        subs[f"mutants-{i}"] = nb
        packs[f"mutants-{i}"] = pack
    return subs, packs


def grade(tmp: Path) -> GradedClass:
    """Grade the class (and, on its own budget, the looping student); write grades.csv as make grade does."""
    subs, packs = submissions()
    _, results = harness.autograde(tmp, LAB, subs)
    course = tmp / "course"
    slow = "loops-forever"
    folder = course / "submitted" / slow / LAB
    folder.mkdir(parents=True)
    looping = harness.with_answer(harness.solved(LAB), "encode", _solution(LAB, "encode") + LOOP)
    nbformat.write(looping, folder / f"{LAB}.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEQLAB_GRADING_WALL_S", str(WALL_S))
        results += grading.autograde(course, [LAB], [slow], course_dir.api_for(course))
    write_csv(course / "grades.csv", collect(course, results))
    return GradedClass(course, packs, ("copy-a", "copy-b"), slow)


def _solution(lab: str, grade_id: str) -> str:
    cells = [c for c in harness.solved(lab).cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cells[0].source
