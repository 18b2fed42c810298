"""Plot helpers shared by the exercises: each takes an `Axes`, draws, and returns it.

Library code never calls `plt.show()`; `save_figure` writes a PNG under `runs/`.
"""
from __future__ import annotations

from pathlib import Path

# One style per curve, in order: marker, line style and size all differ and markers are
# hollow, so curves that coincide by design (your cell and Keras's; LSTM and GRU at full
# accuracy) stay visible on top of each other.
STYLES = (
    {"marker": "o", "linestyle": "-", "markersize": 8},
    {"marker": "s", "linestyle": "--", "markersize": 5},
    {"marker": "^", "linestyle": ":", "markersize": 6},
    {"marker": "D", "linestyle": "-.", "markersize": 4},
    {"marker": "v", "linestyle": (0, (5, 1)), "markersize": 6},
)
CHANCE_STYLE = {"color": "gray", "linestyle": (0, (2, 2)), "linewidth": 1.2}


def curve_style(index: int) -> dict:
    """Keyword arguments of `ax.plot` for the `index`-th curve of a plot."""
    return {**STYLES[index % len(STYLES)], "markerfacecolor": "none", "linewidth": 1.5}


def plot_curves(ax, curves: dict, *, xlabel: str, ylabel: str, title: str = "",
                logy: bool = False, x=None, chance: float | None = None, ylim=None):
    """One line per named curve (a list of y values, against `x` or 1, 2, ...).

    chance: draw the chance level as a gray dashed line, named in the legend.
    ylim: (bottom, top) of the y-axis, e.g. (0, 1) for an accuracy.
    Whole-number x values (epochs, lags) get whole-number ticks only.
    """
    from matplotlib import ticker

    whole = True
    for index, (name, values) in enumerate(curves.items()):
        xs = list(range(1, len(values) + 1)) if x is None else list(x)
        whole = whole and all(float(value).is_integer() for value in xs)
        ax.plot(xs, values, label=name, **curve_style(index))
    if whole:                                   # no "epoch 0.5" between two epochs
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, min_n_ticks=1))
    if chance is not None:
        ax.axhline(chance, label=f"chance ({chance:.2g})", **CHANCE_STYLE)
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    if logy:
        one_notation(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def one_notation(axis):
    """Tick labels of a log-scale axis in one notation: plain numbers ("0.2", "0.3", "1")
    when the axis stays within 0.001 to 10,000, else powers of ten on the decades only
    (matplotlib's default labels the minor ticks of a short range "4x10^-1" beside "1")."""
    from matplotlib import ticker

    low, high = axis.get_view_interval()
    if 1e-3 <= low and high <= 1e4:
        axis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        if high / low < 30:                     # few decades shown: label 2, 3 and 5 too
            axis.set_minor_locator(ticker.LogLocator(base=10, subs=(2.0, 3.0, 5.0)))
            axis.set_minor_formatter(ticker.FormatStrFormatter("%g"))
        else:
            axis.set_minor_formatter(ticker.NullFormatter())
    else:
        axis.set_minor_formatter(ticker.NullFormatter())
    return axis


def plot_accuracy(ax, curves: dict, *, chance: float, x=None, xlabel: str = "epoch",
                  title: str = ""):
    """Accuracy curves on a 0 to 1 axis, with the chance level in the legend."""
    return plot_curves(ax, curves, x=x, xlabel=xlabel, ylabel="validation accuracy",
                       title=title, chance=chance, ylim=(0.0, 1.05))


def save_figure(figure, path) -> Path:
    """Save `figure` as a PNG (folders created) and close it; returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
