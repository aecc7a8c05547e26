"""Plots a learner would rather look at than read."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence

import matplotlib.pyplot as plt


def _as_dict(h: Any) -> Mapping[str, Sequence[float]]:
    """Accept a Keras ``History`` or its ``.history`` dict."""
    return getattr(h, "history", h)


def _metric_names(hist: Mapping[str, Sequence[float]], metrics: Optional[Iterable[str]]) -> list[str]:
    if metrics is not None:
        return list(metrics)
    return [k for k in hist if not k.startswith("val_") and k != "learning_rate"]


def history(h: Any, metrics: Optional[Iterable[str]] = None, title: Optional[str] = None):
    """Training and validation curves, one panel per metric (loss, accuracy, ...).

    ``h`` is what ``model.fit`` returned (or its ``.history`` dict). Returns the
    matplotlib figure.
    """
    hist = _as_dict(h)
    names = _metric_names(hist, metrics)
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(hist[name]) + 1)
        ax.plot(epochs, hist[name], "o-", label="train")
        if f"val_{name}" in hist:
            ax.plot(epochs, hist[f"val_{name}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare(histories: Mapping[str, Any], metric: str = "val_accuracy", title: Optional[str] = None):
    """One metric of several runs on the same axes (e.g. masked vs unmasked, or a battle).

    ``histories`` maps a run's name to its ``History`` (or history dict). Runs
    that did not record ``metric`` are skipped. Returns the figure.
    """
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, h in histories.items():
        values = _as_dict(h).get(metric)
        if values:
            ax.plot(range(1, len(values) + 1), values, "o-", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
