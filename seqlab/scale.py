"""The one scale knob every notebook reads.

``SEQLAB_SCALE=lesson`` (the default) uses the real sizes and gives the accuracy a
lab promises; ``SEQLAB_SCALE=smoke`` uses tiny subsets and one epoch so that a
notebook runs in seconds. Under nbgrader (``NBGRADER_EXECUTION`` is set) the
scale is always ``smoke``: grading checks code, not long training.
"""
from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

LESSON = "lesson"
SMOKE = "smoke"
SCALES = (LESSON, SMOKE)


def current() -> str:
    """Return the active scale, ``"lesson"`` or ``"smoke"``."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return SMOKE
    value = os.environ.get("SEQLAB_SCALE", LESSON).strip().lower() or LESSON
    if value not in SCALES:
        raise ValueError(f"SEQLAB_SCALE={value!r}: expected one of {', '.join(SCALES)}")
    return value


def is_smoke() -> bool:
    """True when running at smoke scale (tests, grading, quick checks)."""
    return current() == SMOKE


def pick(lesson: T, smoke: T) -> T:
    """Return ``lesson`` or ``smoke`` according to the active scale.

    >>> num_epochs = pick(lesson=10, smoke=1)
    """
    return smoke if is_smoke() else lesson
