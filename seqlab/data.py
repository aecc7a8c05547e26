"""Thin, scale-aware wrappers over ``tfds.load``.

Datasets come through TensorFlow Datasets, which honours ``$TFDS_DATA_DIR``
(default ``~/tensorflow_datasets``). When a dataset is not prepared there and
the network cannot be reached we fail at once with a message that says how to
fix it, instead of letting the downloader retry for minutes.
"""
from __future__ import annotations

import os
import socket
from typing import Optional

import numpy as np

from . import scale

#: Examples per split that ``load_imdb`` keeps at smoke scale.
SMOKE_IMDB = 1000
#: Reviews that ``load_imdb`` reads and decodes at a time.
READ_BATCH = 4096
#: Characters that ``load_text`` keeps at smoke scale.
SMOKE_TEXT = 20_000

# Where each dataset's builder downloads from (used only for the quick
# reachability check; the download itself is tensorflow-datasets' own).
_DOWNLOAD_HOSTS = {
    "imdb_reviews": "ai.stanford.edu",
    "tiny_shakespeare": "raw.githubusercontent.com",
}
_DEFAULT_HOST = "storage.googleapis.com"


class DatasetUnavailableError(RuntimeError):
    """The dataset is not prepared locally and cannot be downloaded now."""


def data_dir() -> Optional[str]:
    """The folder tfds reads from: ``$TFDS_DATA_DIR``, or None for tfds' default."""
    return os.environ.get("TFDS_DATA_DIR") or None


def _online(host: str, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def fix_message(name: str, where: str) -> str:
    """How to make ``name`` available offline (used in the error and the README)."""
    return (
        f"Dataset '{name}' is not prepared in {where} and the network cannot be reached.\n"
        f"Fix it in one of two ways:\n"
        f"  * while online, run `tfds build {name}` (or `python -c \"import tensorflow_datasets as tfds; "
        f"tfds.load('{name}')\"`) to download and prepare it once, into {where};\n"
        f"  * or set TFDS_DATA_DIR to a folder that already holds a prepared copy "
        f"(the course CI uses ../shared/tensorflow_datasets)."
    )


def ensure_prepared(name: str):
    """Return the tfds builder for ``name``, downloading it only if the network is up.

    Raises :class:`DatasetUnavailableError` straight away when the data is
    missing and the download host is unreachable.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir())
    if builder.is_prepared():
        return builder
    where = str(builder.data_dir)
    base = name.split("/")[0]
    if not _online(_DOWNLOAD_HOSTS.get(base, _DEFAULT_HOST)):
        raise DatasetUnavailableError(fix_message(base, where))
    builder.download_and_prepare()
    return builder


def _split(split: str, n: Optional[int], smoke_n: int) -> str:
    """Add a ``[:n]`` slice to a tfds split name: ``n`` at lesson scale, capped at smoke."""
    if scale.is_smoke():
        n = smoke_n if n is None else min(n, smoke_n)
    if n is None or "[" in split:
        return split
    return f"{split}[:{int(n)}]"


def load_imdb(split: str = "train", n: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """IMDB movie reviews as ``(texts, labels)`` NumPy arrays.

    ``texts`` holds Python strings (dtype object), ``labels`` 0 (negative) or
    1 (positive). ``split`` is a tfds split (``"train"``, ``"test"``,
    ``"unsupervised"``). ``n`` keeps the first ``n`` reviews (tfds already
    shuffled them); at smoke scale at most :data:`SMOKE_IMDB` are kept.

    The split is read in batches of :data:`READ_BATCH` reviews and decoded batch by batch: the
    same reviews in the same order as reading it as one tensor (``batch_size=-1``), which held
    the whole split up to three times at once (a TensorFlow tensor, its bytes, its strings).
    """
    import tensorflow_datasets as tfds

    ensure_prepared("imdb_reviews")
    ds = tfds.load("imdb_reviews", split=_split(split, n, SMOKE_IMDB), as_supervised=True,
                   data_dir=data_dir())
    texts, labels = [], []
    for batch_texts, batch_labels in tfds.as_numpy(ds.batch(READ_BATCH)):
        texts.extend(t.decode("utf-8") for t in batch_texts)
        labels.append(batch_labels)
    out = np.empty(len(texts), dtype=object)  # one str per cell, whatever the texts look like
    out[:] = texts
    return out, np.concatenate(labels).astype("int32") if labels else np.zeros(0, dtype="int32")


def load_text(name: str = "tiny_shakespeare", split: str = "train") -> str:
    """A text corpus stored as one example with a ``text`` feature, as one string.

    At smoke scale only the first :data:`SMOKE_TEXT` characters are returned.
    """
    import tensorflow_datasets as tfds

    ensure_prepared(name)
    ds = tfds.load(name, split=split, data_dir=data_dir())
    text = "".join(ex["text"].decode("utf-8") for ex in tfds.as_numpy(ds))
    return text[:SMOKE_TEXT] if scale.is_smoke() else text
