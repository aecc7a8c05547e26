"""Answers worth a second look: pairs of students whose answer to one exercise are unusually alike.

Fingerprints come from `copydetect <https://github.com/blingenf/copydetect>`_ (MOSS-style winnowing
over Pygments tokens; names become ``V``/``F``, comments and whitespace are dropped, so renaming
variables or reformatting changes nothing). Every fingerprint that also occurs in the released
starter code or in the reference solution is removed first (copydetect's *boilerplate*), so an answer
that is the reference solution, or the untouched release, has nothing left to compare.

A pair is reported when the two answers share most of their remaining fingerprints, enough of them
to be more than a line, *and* the pair is unusual in the class:

    similarity(a, b) = shared fingerprints / fingerprints of the smaller answer
    typical(a)       = median similarity of a to every student other than a and b
    alike(a, b)      = a, b and every other student at least FLOOR-similar to both
    reported when      similarity >= FLOOR, shared >= MIN_SHARED,
                       similarity - max(typical(a), typical(b)) >= MARGIN and alike <= MAX_ALIKE

An answer everybody writes the same way is alike to the whole class (its typical similarity is high),
and a mistake many students make independently is one answer shared by many (``alike`` is large):
neither is reported; the class report shows common mistakes as wrong-answer groups instead. The similarity of every pair comes from one sparse
count of shared fingerprints (numpy), so a class of hundreds is cheap; copydetect's own pairwise
comparison (:func:`copydetect.compare_files`) then gives the reported pairs their token overlap and
the highlighted slices of the side-by-side view. It points at answers worth a look: it is not a
verdict, and short answers can be alike by chance.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

#: copydetect's defaults: k-grams of 25 filtered characters, every match of 30 or more found.
NOISE_T = 25
GUARANTEE_T = 30
FLOOR = 0.8
MARGIN = 0.5
MIN_SHARED = 8
MAX_ALIKE = 3


@dataclass
class Pair:
    """Two students whose answers to one exercise are unusually alike."""
    a: str
    b: str
    similarity: float       # shared fingerprints / fingerprints of the smaller answer
    typical: float          # the larger of the two students' median similarity to the rest of the class
    shared: int             # fingerprints the two share (boilerplate excluded)
    alike: int              # students with an answer this alike, the two included
    overlap_a: float        # copydetect: share of a's tokens found in b
    overlap_b: float        # copydetect: share of b's tokens found in a
    html_a: str             # a's answer, HTML-escaped, shared slices in <mark>
    html_b: str


def _fingerprint(code: str, boilerplate: Optional[np.ndarray] = None, window: Optional[int] = None):
    from copydetect import CodeFingerprint

    win = window if window is not None else GUARANTEE_T - NOISE_T + 1
    return CodeFingerprint("answer.py", NOISE_T, win, boilerplate=boilerplate, language="python",
                           fp=io.StringIO(code))


def boilerplate_hashes(texts: Iterable[str]) -> np.ndarray:
    """Every k-gram hash of the starter code and the reference solution (copydetect's boilerplate)."""
    hashes: set[int] = set()
    for text in texts:
        if text.strip():
            hashes |= _fingerprint(text, window=1).hashes
    return np.array(sorted(hashes), dtype=np.int64)


def find_pairs(answers: dict[str, str], boilerplate: Iterable[str], floor: float = FLOOR,
               margin: float = MARGIN, min_shared: int = MIN_SHARED, max_alike: int = MAX_ALIKE) -> list[Pair]:
    """Pairs of ``answers`` ({student: code of one exercise}) worth a look, most striking first."""
    bp = boilerplate_hashes(boilerplate)
    prints, cache = {}, {}
    for student, code in answers.items():
        if code not in cache:  # many students hand in the very same text: fingerprint it once
            cache[code] = _fingerprint(code, bp)
        if len(cache[code].hashes) >= min_shared:
            prints[student] = cache[code]
    students = sorted(prints)
    if len(students) < 2:
        return []
    sim, shared = _similarity(students, [prints[s].hashes for s in students])

    close = (sim >= floor).astype(np.float32)
    alike = close @ close.T + 2  # the two, and every student close to both
    pairs = []
    ii, jj = np.nonzero(np.triu(close.astype(bool) & (shared >= min_shared) & (alike <= max_alike), k=1))
    for i, j in zip(ii.tolist(), jj.tolist()):
        rest = np.ones(len(students), dtype=bool)
        rest[[i, j]] = False
        typical = max(float(np.median(sim[i, rest])), float(np.median(sim[j, rest]))) if rest.any() else 0.0
        if sim[i, j] - typical < margin:
            continue
        pairs.append(_pair(students[i], students[j], prints, float(sim[i, j]), typical, int(shared[i, j]),
                           int(alike[i, j])))
    return sorted(pairs, key=lambda p: (-(p.similarity - p.typical), p.a, p.b))


def _similarity(students: list[str], hashes: list[set]) -> tuple[np.ndarray, np.ndarray]:
    """(similarity, shared fingerprint count) of every pair, from one student x fingerprint matrix."""
    owner = np.repeat(np.arange(len(students)), [len(h) for h in hashes])
    flat = np.fromiter((h for hs in hashes for h in hs), dtype=np.int64, count=len(owner))
    values, column, counts = np.unique(flat, return_inverse=True, return_counts=True)
    keep = counts[column] >= 2  # a fingerprint only one student has is shared with no one
    columns = np.unique(column[keep], return_inverse=True)[1]
    matrix = np.zeros((len(students), int(columns.max()) + 1 if keep.any() else 0), dtype=np.float32)
    matrix[owner[keep], columns] = 1.0
    shared = matrix @ matrix.T
    sizes = np.array([len(h) for h in hashes], dtype=np.float32)
    smaller = np.minimum(sizes[:, None], sizes[None, :])
    sim = shared / np.maximum(smaller, 1.0)
    np.fill_diagonal(sim, 0.0)
    return sim, shared


def _pair(a: str, b: str, prints: dict, similarity: float, typical: float, shared: int, alike: int) -> Pair:
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    _, (overlap_a, overlap_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
    html = []
    for fp, slices in ((prints[a], slices_a), (prints[b], slices_b)):
        if len(slices) and np.size(slices[0]):
            text, _ = highlight_overlap(fp.raw_code, slices, "<mark>", "</mark>", escape_html=True)
        else:
            import html as html_lib
            text = html_lib.escape(fp.raw_code)
        html.append(text)
    return Pair(a, b, similarity, typical, shared, alike, float(overlap_a), float(overlap_b), html[0], html[1])
