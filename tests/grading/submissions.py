"""Adversarial and unusual submissions, built from the real Lab 01 release notebook.

Each case: how the submission is made, the score every test cell must get, and words its row in
grades.csv must carry. Lab 01's test cells: build_vocab (visible 1, hidden 2), encode (1, 1),
pad_or_truncate (1, 2).
"""
from __future__ import annotations

import copy
import json

import nbformat

import harness

LAB = "01-tokenization"
BUILD = ["test_build_vocab_visible", "test_build_vocab_hidden"]
ENCODE = ["test_encode_visible", "test_encode_hidden"]
PAD = ["test_pad_visible", "test_pad_hidden"]

WRONG_ENCODE = '''def encode(text, vocab):
    return [vocab[token] for token in tokenize(text) if token in vocab]
'''
WRONG_PAD = '''def pad_or_truncate(seqs, maxlen, padding="pre", truncating="pre"):
    X = np.zeros((len(seqs), maxlen), dtype="int32")
    for i, seq in enumerate(seqs):
        seq = list(seq)[-maxlen:]
        if seq:
            if padding == "pre":
                X[i, maxlen - len(seq):] = seq
            else:
                X[i, :len(seq)] = seq
    return X
'''
ALTERNATIVE = {
    "build_vocab": '''PAD, OOV = "", "[UNK]"


def build_vocab(texts, max_tokens=None):
    freq = {}
    for text in texts:
        for tok in tokenize(text):
            freq[tok] = freq.get(tok, 0) + 1
    order = sorted(sorted(freq), key=freq.get, reverse=True)  # stable: ties stay alphabetical
    limit = len(order) if max_tokens is None else max(0, max_tokens - 2)
    return dict([(PAD, 0), (OOV, 1)] + [(tok, i + 2) for i, tok in enumerate(order[:limit])])
''',
    "encode": '''def encode(text, vocab):
    out = []
    for tok in tokenize(text):
        out.append(vocab[tok] if tok in vocab else vocab["[UNK]"])
    return out
''',
    "pad_or_truncate": '''def pad_or_truncate(seqs, maxlen, padding="pre", truncating="pre"):
    rows = []
    for seq in map(list, seqs):
        cut = seq[len(seq) - maxlen:] if truncating == "pre" and len(seq) > maxlen else seq[:maxlen]
        fill = [0] * (maxlen - len(cut))
        rows.append(fill + cut if padding == "pre" else cut + fill)
    return np.array(rows, dtype=np.int32).reshape(len(rows), maxlen)
''',
}
READS_DISK = '''def encode(text, vocab):
    import glob, os
    from pathlib import Path
    # Where a submission would look first: its working directory and what the environment says.
    # (Searching the whole disk and the grader's /proc entries: see test_confinement.py.)
    starts = [Path.cwd(), Path(os.environ.get("PWD", "/")), Path(os.environ.get("OLDPWD", "/")),
              Path(os.environ.get("HOME", "/")), Path(__import__("sys").path[0] or "/")]
    found = []
    for start in starts:
        for folder in [start, *start.parents]:
            found += [p for p in (folder / "gradebook.db", folder / "source") if p.exists()]
            found += glob.glob(str(folder / "source" / "*" / "*.ipynb"))
    global FOUND
    FOUND = sorted(map(str, found))
    if found:  # would read the hidden tests; behave correctly only if it found them
        print("found:", FOUND)
        return [vocab.get(t, 1) for t in tokenize(text)]
    return [vocab[t] for t in tokenize(text) if t in vocab]
'''
MONKEYPATCH = WRONG_PAD + '''

import builtins, sys
np.array_equal = lambda *a, **k: True
np.testing.assert_array_equal = lambda *a, **k: None
get_ipython().showtraceback = lambda *a, **k: None
get_ipython().showsyntaxerror = lambda *a, **k: None
sys.excepthook = lambda *a, **k: None
'''


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def solved():
    return harness.solved(LAB)


def answer(nb, grade_id, source):
    return harness.with_answer(nb, grade_id, source)


def build():
    """{name: (notebook or (filename, text), {test cell: expected score or 'full'}, [status words])}."""
    points = harness.test_points(LAB)
    full = dict(points)

    def losing(*cells):
        return {g: (0 if g in cells else p) for g, p in points.items()}

    cases = {}
    cases["blank"] = (harness.release_nb(LAB), {g: 0 for g in points}, ["graded"])
    cases["solutions"] = (solved(), full, ["graded"])

    nb = solved()
    for gid, src in ALTERNATIVE.items():
        nb = answer(nb, gid, src)
    cases["alternative-solution"] = (nb, full, ["graded"])

    nb = answer(solved(), "encode", WRONG_ENCODE)
    for gid in ENCODE:
        cell(nb, gid).source = "assert True"
    cases["tests-edited-to-assert-true"] = (nb, losing(*ENCODE), ["graded"])

    nb = answer(solved(), "encode", WRONG_ENCODE)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in ENCODE]
    cases["test-cells-deleted"] = (nb, losing(*ENCODE), ["graded"])

    nb = solved()
    i = nb.cells.index(cell(nb, "test_pad_visible"))
    twin = copy.deepcopy(nb.cells[i])
    twin["id"] = "a-copy"
    nb.cells.insert(i + 1, twin)
    cases["test-cell-duplicated"] = (nb, full, ["repaired", "duplicated"])

    nb = solved()
    for c in nb.cells:
        c.metadata = {}
    cases["metadata-stripped"] = (nb, full, ["repaired", "metadata"])

    nb = solved()
    for c in nb.cells:
        c.metadata = {}
        c.pop("id", None)
    nb.nbformat_minor = 4
    cases["metadata-and-ids-stripped"] = (nb, full, ["repaired", "metadata"])

    text = nbformat.writes(solved())
    cases["invalid-json"] = (("01-tokenization.ipynb", text[: len(text) // 2]), None, ["FAILED", "invalid JSON"])

    v3 = nbformat.convert(solved(), 3)
    cases["nbformat-3"] = (("01-tokenization.ipynb", json.dumps(v3)), full, ["repaired", "nbformat 3"])

    loop = ALTERNATIVE["pad_or_truncate"] + "\n\nwhile True:  # the cell never ends; the function is defined\n    pass\n"
    cases["infinite-loop"] = (answer(solved(), "pad_or_truncate", loop), full, ["graded"])

    kill = ALTERNATIVE["encode"] + "\n\nimport os\nos._exit(0)\n"
    cases["os-exit"] = (answer(solved(), "encode", kill), losing(*ENCODE), ["repaired", "stopped the kernel"])

    # (A kernel that dies once for a reason outside the submission is re-graded, not failed: a
    # confined kernel cannot leave itself a marker for its next run, so test_retry.py simulates it.)

    bomb = ALTERNATIVE["pad_or_truncate"].replace(
        "    rows = []\n", "    hog = []\n    while True:\n        hog.append(bytearray(2**28))\n    rows = []\n")
    cases["memory-bomb"] = (answer(solved(), "pad_or_truncate", bomb), losing(*PAD), ["graded"])

    noisy = ALTERNATIVE["encode"].replace("    out = []\n", (
        "    import sys, warnings\n"
        "    warnings.warn('`encode` is slow; use keras.layers.TextVectorization', UserWarning)\n"
        "    print('WARNING:tensorflow:5 out of the last 5 calls triggered tf.function retracing',"
        " file=sys.stderr)\n"
        "    out = []\n"))
    cases["keras-warning-on-stderr"] = (answer(solved(), "encode", noisy), full, ["graded"])

    cases["reads-hidden-tests-from-disk"] = (answer(solved(), "encode", READS_DISK), losing(*ENCODE), ["graded"])
    cases["monkeypatches-test-machinery"] = (answer(solved(), "pad_or_truncate", MONKEYPATCH),
                                             losing(*PAD), ["graded"])
    nb = solved()
    forged = nbformat.v4.new_code_cell("1e9")
    forged.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": True, "points": 100.0,
                                   "schema_version": 3, "solution": False, "task": False}
    nb.cells.append(forged)
    cases["forged-grade-cell"] = (nb, full, ["repaired", "unknown nbgrader ids"])
    cases["renamed-notebook"] = (("my lab 01 (1).ipynb", nbformat.writes(solved())), full,
                                 ["repaired", "renamed"])
    cases["extra-notebook"] = ({"01-tokenization.ipynb": nbformat.writes(solved()),
                                "scratch.ipynb": nbformat.writes(nbformat.v4.new_notebook())}, full,
                               ["repaired", "extra notebook"])
    return cases
