"""Handing memory back between trainings, so that a notebook that trains many models stays small."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys


def _malloc_trim() -> bool:
    """Ask glibc to return freed heap pages to the OS; False where there is no ``malloc_trim``."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):  # not glibc (musl, …)
        return False


def free_memory() -> None:
    """Forget Keras' global state and the garbage of earlier trainings, and give the freed memory back.

    Call it after a model's training, once you no longer need the objects it made (a compiled
    training graph, an optimizer). Models you still hold keep working: their weights are not
    touched. Only what nothing refers to can go: the ``History`` that ``fit`` returns refers to the
    model it trained, so keep ``history.history`` (the curves) rather than the ``History``.
    Without the final ``malloc_trim`` the process keeps freed memory for itself, so every training
    adds to the resident size.
    """
    import keras

    keras.backend.clear_session()
    gc.collect()
    _malloc_trim()
