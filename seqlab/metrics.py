"""Recording metrics for ``make bench``.

A notebook calls ``record("test_accuracy", acc)``. When ``$SEQLAB_METRICS``
names a JSON file (``make bench`` sets it, one file per notebook) the value is
merged into it; otherwise recording is a no-op. The value is returned, so the
call can wrap an expression.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays, tf tensors via numpy()
        return value.tolist()
    if hasattr(value, "numpy"):
        return value.numpy().tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def record(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` in ``$SEQLAB_METRICS`` (if set); return ``value``."""
    path = os.environ.get("SEQLAB_METRICS")
    if not path:
        return value
    target = Path(path)
    metrics: dict[str, Any] = {}
    if target.exists() and target.stat().st_size:
        metrics = json.loads(target.read_text())
    metrics[name] = _jsonable(value)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True))
    tmp.replace(target)
    return value
