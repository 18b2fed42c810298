"""Plot helpers, read through their artists (lines, styles, limits), never their pixels."""
import ast
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnnkit import KIT_ROOT, plots  # noqa: E402


@pytest.fixture
def ax():
    figure, axes = plt.subplots()
    yield axes
    plt.close(figure)


def _curves(ax):
    """The data lines of an Axes (not the chance line), by label."""
    return {line.get_label(): line for line in ax.get_lines()
            if not line.get_label().startswith(("chance", "_"))}


def _chance_lines(ax):
    return [line for line in ax.get_lines() if line.get_label().startswith("chance")]


def assert_distinguishable(lines):
    """Curves that may coincide differ in marker and in line style, with hollow markers."""
    styles = [(line.get_marker(), str(line.get_linestyle())) for line in lines]
    assert len({m for m, _ in styles}) == len(lines), f"markers repeat: {styles}"
    assert len({s for _, s in styles}) == len(lines), f"line styles repeat: {styles}"
    assert all(line.get_markerfacecolor() == "none" for line in lines)


def assert_chance_line(ax, level):
    """One horizontal line at the chance level, named in the legend, inside the y-axis."""
    (line,) = _chance_lines(ax)
    assert set(np.asarray(line.get_ydata(), dtype=float)) == {level}
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert line.get_label() in legend
    bottom, top = ax.get_ylim()
    assert bottom <= level < top


def test_coinciding_curves_stay_apart_and_the_helper_returns_its_axes(ax):
    same = [0.5, 0.7, 0.9]
    assert plots.plot_curves(ax, {"yours": same, "keras": same, "third": same},
                             xlabel="epoch", ylabel="accuracy") is ax
    lines = list(_curves(ax).values())
    assert len(lines) == 3 and not _chance_lines(ax)
    assert_distinguishable(lines)
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])


def test_accuracy_plot_starts_at_zero_and_shows_chance(ax):
    assert plots.plot_accuracy(ax, {"a": [0.9, 0.92], "b": [0.9, 0.92]}, chance=0.5,
                               x=[0, 1]) is ax
    assert_chance_line(ax, 0.5)
    assert ax.get_ylim() == pytest.approx((0.0, 1.05))
    assert ax.get_ylabel() == "validation accuracy"


def test_ex01_main_plots_both_cells_from_epoch_0_with_chance(monkeypatch, tmp_path):
    """The real main(), one epoch: its figure is caught before it is saved."""
    from solutions import ex01_simple_rnn as ex

    saved = []
    monkeypatch.setattr(plots, "save_figure",
                        lambda figure, path: saved.append((figure, path)) or path)
    monkeypatch.chdir(tmp_path)
    ex.main(steps=4, units=4, epochs=1)
    (figure, path), = saved
    try:
        assert str(path).endswith("ex01/accuracy.png")
        (axes,) = figure.axes
        lines = _curves(axes)
        assert set(lines) == {"your SimpleRNNCell", "keras.layers.SimpleRNN"}
        assert_distinguishable(list(lines.values()))
        for line in lines.values():
            np.testing.assert_array_equal(line.get_xdata(), [0, 1])   # epoch 0: untrained
        assert_chance_line(axes, 0.5)
        assert axes.get_ylim()[0] == 0.0
    finally:
        plt.close(figure)


def test_ex02_gradient_norms_keep_the_law_under_every_curve(ax):
    from solutions import ex02_bptt as ex

    norms = {r: r ** np.arange(8)[::-1] for r in (0.5, 1.0, 1.5)}   # exactly on the law
    assert ex.plot_gradient_norms(ax, norms, "x = 0", show_law=True) is ax
    curves = [line for line in ax.get_lines() if line.get_label().startswith("r = ")]
    assert len(curves) == 3
    assert_distinguishable(curves)
    bands = [line for line in ax.get_lines() if line not in curves]
    assert len(bands) == 3 and sum(b.get_label() == "r^k law" for b in bands) == 1
    for band, curve in zip(bands, curves):
        np.testing.assert_allclose(band.get_ydata(), curve.get_ydata())
        assert band.get_linewidth() > 2 * curve.get_linewidth()      # wider, so both show
        assert band.get_zorder() < curve.get_zorder()                # and underneath
    assert ax.get_yscale() == "log"


RESULTS = {"lags": [5, 10, 20], "chance": 0.25,
           "accuracy": {"vanilla": [0.9, 0.3, 0.25], "lstm": [1.0, 1.0, 1.0],
                        "gru": [1.0, 1.0, 1.0]},
           "grad_norm_first_step": {"vanilla": [1e-2, 1e-4, 1e-8], "lstm": [0.1, 0.1, 0.1],
                                    "gru": [0.1, 0.1, 0.1]}}


def test_ex03_accuracy_vs_lag_keeps_lstm_and_gru_apart_above_chance(ax):
    from solutions import ex03_gated_cells as ex

    assert ex.plot_accuracy_vs_lag(ax, RESULTS) is ax
    lines = _curves(ax)
    assert set(lines) == {"vanilla", "lstm", "gru"}
    assert_distinguishable(list(lines.values()))
    np.testing.assert_array_equal(lines["gru"].get_xdata(), RESULTS["lags"])
    assert_chance_line(ax, 0.25)
    assert ax.get_ylim()[0] == 0.0 and ax.get_ylim()[1] > 1.0   # 1.0 itself stays visible


def test_ex03_gradient_vs_lag_is_logarithmic_with_distinguishable_cells(ax):
    from solutions import ex03_gated_cells as ex

    assert ex.plot_gradient_vs_lag(ax, RESULTS) is ax
    lines = _curves(ax)
    assert set(lines) == {"vanilla", "lstm", "gru"} and not _chance_lines(ax)
    assert_distinguishable(list(lines.values()))
    assert ax.get_yscale() == "log"


def test_library_and_lessons_never_call_show():
    for folder in ("rnnkit", "solutions"):
        for path in (KIT_ROOT / folder).rglob("*.py"):
            calls = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                     and node.func.attr == "show"]
            assert not calls, f"{path}:{calls[0]} calls show()"


def test_the_figure_check_names_each_fault_and_passes_a_clean_figure():
    """figure_checks.figure_problems, which test_mains.py runs on every figure main() saves:
    each fault planted alone is named; the same figure without it has no problem."""
    from figure_checks import figure_problems

    def figure_with(fault=None):
        figure, (ax, image_ax) = plt.subplots(1, 2, figsize=(9, 3.5))
        x = np.arange(10)
        ax.plot(x, x / 10, marker="o", linestyle="-", label="yours")
        ax.plot(x, x / 10 + 0.05, marker="s" if fault != "same style" else "o",
                linestyle="--" if fault != "same style" else "-", label="keras")
        ax.set_xlabel("epoch" if fault != "no x label" else "")
        ax.set_ylabel("accuracy")
        ax.set_title("curves", fontsize=10 if fault != "small text" else 6)
        if fault == "note on the data":
            ax.annotate("a note", xy=(0.45, 0.5), xycoords="axes fraction")
        if fault == "legend on the data":
            ax.legend(loc="center")
        else:
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
        counts = np.array([[90, 10], [40, 60]])
        image_ax.imshow(counts, cmap="Blues", vmin=0)
        for (row, column), count in np.ndenumerate(counts):
            dark = count > 50
            colour = ("white" if dark else "black") if fault != "low contrast" else "white"
            image_ax.text(column, row, str(count), ha="center", va="center", color=colour)
        image_ax.set_xlabel("predicted")
        image_ax.set_ylabel("true")
        figure.tight_layout()
        return figure

    expected = {"small text": "6.0 pt", "no x label": "without a x label",
                "same style": "look the same without colour", "legend on the data": "covers",
                "note on the data": "'a note' covers",
                "low contrast": "is written in a grey"}     # white on 10 (and on 40)
    clean = figure_with()
    try:
        assert figure_problems(clean) == []
    finally:
        plt.close(clean)
    for fault, words in expected.items():
        figure = figure_with(fault)
        try:
            problems = figure_problems(figure, name=fault)
        finally:
            plt.close(figure)
        assert problems and all(words in problem for problem in problems), (fault, problems)


def test_a_short_log_axis_is_labelled_in_one_notation(ax):
    """matplotlib labels a log axis under a decade long "10^-1", "2x10^-1", ...; the figure
    check names it and plots.one_notation (which plot_curves applies) writes 0.1, 0.2, ..."""
    from figure_checks import figure_problems

    ax.plot([1, 2, 3], [0.2, 0.3, 0.5])
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="loss")
    assert any("mix notations" in problem for problem in figure_problems(ax.figure))
    plots.one_notation(ax.yaxis)
    assert figure_problems(ax.figure) == []
    shown = {label.get_text() for label in ax.yaxis.get_ticklabels(which="both")}
    assert {"0.2", "0.3", "0.5"} <= shown
