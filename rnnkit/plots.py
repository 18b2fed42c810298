"""Plot helpers shared by the exercises: each takes an `Axes`, draws, and returns it.

Library code never calls `plt.show()`; `save_figure` writes a PNG under `runs/`.
"""
from __future__ import annotations

from pathlib import Path


def plot_curves(ax, curves: dict, *, xlabel: str, ylabel: str, title: str = "",
                logy: bool = False, x=None):
    """One line per named curve (a list of y values, optionally against `x`)."""
    for name, values in curves.items():
        xs = list(range(1, len(values) + 1)) if x is None else x
        ax.plot(xs, values, marker="o", markersize=3, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def save_figure(figure, path) -> Path:
    """Save `figure` as a PNG (folders created) and close it; returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
