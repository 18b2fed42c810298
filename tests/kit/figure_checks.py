"""Does a figure read, without colour and at print size? Read from its artists, never pixels.

`figure_problems(figure)` lists, in words a plot's author acts on:
- any visible text under MIN_POINTS (titles, axis and tick labels, legends, annotations,
  table cells);
- an axes that draws data (lines, collections, patches, images) without an x or a y label,
  unless a neighbour it shares that axis with carries the label. Axes turned off
  (`ax.axis("off")`: an image grid, a table) have no axis to label and are left out; a
  colour bar is labelled by its own label;
- a legend whose entries cannot be told apart without colour: two entries with the same
  marker and line style (lines) or the same hatch and grey level (patches);
- a legend inside the axes that covers a data point of a line or a scatter (its bounding
  box, once drawn);
- a note placed on the axes (in axes fraction, e.g. "best beam: +2 points") over a data
  point, as a legend would be;
- an axes' title or annotation drawn over another axes (a caption running into the image
  above it);
- tick labels in powers of ten with a factor ("4x10^-1", matplotlib's minor labels of a
  short log axis) beside plain ones: one notation (`rnnkit.plots.one_notation`);
- a number or word written on an image (a confusion matrix's counts) in a grey too close
  to the grey of the pixel under it (MIN_CONTRAST, in luminance from 0 to 1).
Used on every figure an exercise's main() saves (tests/kit/exercises/test_mains.py), and on
figures built directly in the plot tests.
"""
from __future__ import annotations

import numpy as np

MIN_POINTS = 8
# Luminance difference (0 black to 1 white) between a text and the image pixel under it:
# black on the palest blue of "Blues" is ~0.97, white on its darkest ~0.9; a count at half
# the scale written in the wrong one of the two still differs by ~0.35.
MIN_CONTRAST = 0.3


def luminance(colour) -> float:
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(colour)
    return 0.299 * red + 0.587 * green + 0.114 * blue


def _texts(figure):
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            yield text


def _draws_data(ax) -> bool:
    lines = [line for line in ax.get_lines() if len(np.atleast_1d(line.get_xdata())) > 0]
    return bool(lines or ax.collections or ax.images or ax.patches or ax.tables)


def _labelled(ax, which: str) -> bool:
    get = (lambda a: a.get_xlabel()) if which == "x" else (lambda a: a.get_ylabel())
    shared = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    return any(get(other).strip() for other in shared.get_siblings(ax)) or bool(get(ax).strip())


def _legend_key(handle):
    """What tells a legend entry apart in grey: (kind, marker, line style) or hatch/grey."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if isinstance(handle, Line2D):
        style = handle.get_linestyle() if handle.get_linewidth() > 0 else "None"
        return ("line", str(handle.get_marker()), str(style))
    if isinstance(handle, Patch):
        grey = round(luminance(handle.get_facecolor()), 1)
        return ("patch", handle.get_hatch() or "", grey)
    paths = getattr(handle, "get_paths", lambda: [])()
    return ("collection", tuple(map(tuple, paths[0].vertices.round(2))) if paths else ())


def _data_points(ax):
    """Display coordinates of every line vertex and scatter point of an axes."""
    points = [ax.transData.transform(line.get_xydata()) for line in ax.get_lines()
              if line.get_visible() and len(line.get_xydata())]
    for collection in ax.collections:
        offsets = np.asarray(collection.get_offsets())
        if offsets.size and offsets.ndim == 2:
            points.append(collection.get_offset_transform().transform(offsets))
    return np.concatenate(points) if points else np.empty((0, 2))


def _pixel_under(image, x, y):
    """The RGBA of `image` at data point (x, y), or None outside it."""
    left, right, bottom, top = image.get_extent()
    values = np.asarray(image.get_array())
    rows, columns = values.shape[:2]
    first = top if image.origin == "upper" else bottom       # where row 0 is drawn
    last = bottom if image.origin == "upper" else top
    column = int(np.floor((x - left) / (right - left) * columns))
    row = int(np.floor((y - first) / (last - first) * rows))
    if not (0 <= row < rows and 0 <= column < columns):
        return None
    return image.to_rgba(values[row, column]) if values.ndim == 2 else values[row, column]


def _low_contrast(ax, where):
    problems = []
    for text in ax.texts:
        if not text.get_visible() or not text.get_text().strip() \
                or text.get_transform() != ax.transData:
            continue
        for image in ax.images:
            pixel = _pixel_under(image, *text.get_position())
            if pixel is None:
                continue
            gap = abs(luminance(text.get_color()) - luminance(pixel[:3]))
            if gap < MIN_CONTRAST:
                problems.append(f"{where}: {text.get_text()[:20]!r} is written in a grey "
                                f"{gap:.2f} away from the image under it (at least "
                                f"{MIN_CONTRAST}: black on light cells, white on dark)")
    return problems


def _over_other_axes(figure, name):
    problems = []
    frames = [(ax, ax.get_window_extent()) for ax in figure.axes if ax.get_visible()]
    for ax in figure.axes:
        texts = [ax.title, ax._left_title, ax._right_title, *ax.texts]
        for text in texts:
            if not text.get_visible() or not text.get_text().strip():
                continue
            box = text.get_window_extent()
            for other, frame in frames:
                if other is not ax and frame.overlaps(box) and other.get_label() != "<colorbar>":
                    problems.append(f"{name}: {text.get_text()[:40]!r} runs into the axes "
                                    f"{other.get_title()[:30]!r} (more room: a taller figure, "
                                    "fewer lines)")
                    break
    return problems


def figure_problems(figure, name: str = "the figure") -> list[str]:
    figure.canvas.draw()
    problems = []
    for text in _texts(figure):
        if text.get_fontsize() < MIN_POINTS:
            problems.append(f"{name}: text {text.get_text()[:40]!r} is "
                            f"{text.get_fontsize():.1f} pt (at least {MIN_POINTS})")
    for index, ax in enumerate(figure.axes):
        where = f"{name}, axes {index} ({ax.get_title()[:40]!r})"
        if not ax.get_visible() or not ax.axison:
            continue
        if ax.get_label() == "<colorbar>":
            if not (ax.get_ylabel().strip() or ax.get_xlabel().strip()):
                problems.append(f"{where}: the colour bar has no label")
            continue
        problems += _low_contrast(ax, where)
        for axis in (ax.xaxis, ax.yaxis):
            labels = [label.get_text() for label in axis.get_ticklabels(which="both")
                      if label.get_visible() and label.get_text().strip()]
            if any("times" in label or "×" in label for label in labels):
                problems.append(f"{where}: tick labels mix notations "
                                f"({', '.join(labels[:6])}): use rnnkit.plots.one_notation")
        if _draws_data(ax):
            for which in ("x", "y"):
                if not _labelled(ax, which):
                    problems.append(f"{where}: data without a {which} label")
    problems += _over_other_axes(figure, name)
    legends = [(ax, ax.get_legend()) for ax in figure.axes if ax.get_legend() is not None]
    legends += [(None, legend) for legend in figure.legends]
    for ax, legend in legends:
        entries = [text.get_text() for text in legend.get_texts()]
        keys = {}
        for entry, handle in zip(entries, legend.legend_handles):
            keys.setdefault(_legend_key(handle), []).append(entry)
        for same in keys.values():
            if len(same) > 1:
                problems.append(f"{name}: legend entries {same} look the same without colour "
                                "(give each a marker, line style or hatch of its own)")
        if ax is not None:
            problems += _covers_data(ax, legend, "the legend", name)
    for ax in figure.axes:
        for text in ax.texts:           # notes in axes fraction; texts at data points are data
            placed = getattr(text, "xycoords", None) == "axes fraction" \
                or text.get_transform() == ax.transAxes
            if text.get_visible() and text.get_text().strip() and placed:
                problems += _covers_data(ax, text, repr(text.get_text()[:40]), name)
    return problems


def _covers_data(ax, artist, what, name):
    box, frame = artist.get_window_extent(), ax.get_window_extent()
    if not frame.overlaps(box):
        return []                                   # drawn outside the axes
    points = _data_points(ax)
    inside = ((box.x0 <= points[:, 0]) & (points[:, 0] <= box.x1) &
              (box.y0 <= points[:, 1]) & (points[:, 1] <= box.y1))
    if not inside.any():
        return []
    return [f"{name}, axes {ax.get_title()[:40]!r}: {what} covers {int(inside.sum())} data "
            "point(s) (move it: loc=, or outside with bbox_to_anchor)"]
