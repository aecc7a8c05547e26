"""seqlab: the plumbing behind the course notebooks (not the lesson itself).

- :mod:`seqlab.scale`  – the ``SEQLAB_SCALE`` knob (``lesson`` or ``smoke``).
- :mod:`seqlab.data`   – thin, scale-aware wrappers over ``tfds.load``.
- :mod:`seqlab.plots`  – training curves and comparisons.
- :func:`record`       – metrics for ``make bench``.
- :func:`seed_everything` – one call seeds Python, NumPy and Keras.
- :func:`free_memory`  – hand memory back between trainings.

Importing seqlab quietens TensorFlow's C++ start-up log lines (unless the user
set ``TF_CPP_MIN_LOG_LEVEL`` / ``TF_ENABLE_ONEDNN_OPTS`` themselves), so import it before TensorFlow.
"""
from __future__ import annotations

import os

# TensorFlow prints oneDNN / cpu_feature_guard lines to stderr when it is first
# imported. They are noise for a learner and nbgrader scores any stderr in a test
# cell as a failure, so silence them before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# On Intel CPUs TensorFlow turns on oneDNN's custom operations, says so on stderr before its logging
# honours TF_CPP_MIN_LOG_LEVEL ("I0000 00:00:<s> port.cc:153] oneDNN custom operations are on"), and
# logs "oneDNN supports DT_BOOL only on platforms with AVX-512" at the first boolean tensor where it
# finds no usable AVX-512. Off, as TensorFlow has them on AMD CPUs: no such lines, and the same
# (Eigen) kernels on either.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from . import data, plots, scale  # noqa: E402
from .memory import free_memory  # noqa: E402
from .metrics import record  # noqa: E402
from .seed import seed_everything  # noqa: E402

__all__ = ["data", "plots", "scale", "free_memory", "record", "seed_everything"]
__version__ = "0.1.0"
