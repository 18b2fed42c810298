"""Figures of ex06: waveform / spectrogram / MFCCs, a word confusion matrix, CTC decodings.

Each `draw_*` helper takes an Axes, draws and returns it; the `plot_*` functions lay out a
whole figure and return it (save it with `rnnkit.plots.save_figure`). Never `plt.show()`.
"""
from __future__ import annotations

import numpy as np


def draw_waveform(ax, waveform, sample_rate, title=""):
    ax.plot(np.arange(len(waveform)) / sample_rate, waveform, linewidth=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    ax.set_title(title)
    return ax


def draw_image(ax, values, *, frame_seconds, ylabel, title, top=None, scale=""):
    """values (F, bins) as an image: time across, bins upwards (`top` labels the upper edge);
    the colour bar is labelled `scale` (what a colour stands for)."""
    extent = [0, len(values) * frame_seconds, 0, top if top else values.shape[1]]
    image = ax.imshow(np.asarray(values).T, origin="lower", aspect="auto", extent=extent)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if not top:                                 # bins are counted: no "coefficient 2.5"
        ax.yaxis.get_major_locator().set_params(integer=True)
    ax.figure.colorbar(image, ax=ax, label=scale)
    return ax


def plot_features(waveforms, names, power_spectrogram, speech_features, *, sample_rate=8000,
                  frame_step=128):
    """One column per utterance: waveform, log power spectrogram (dB), MFCCs."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, len(waveforms), figsize=(4.5 * len(waveforms), 8),
                                squeeze=False)
    seconds = frame_step / sample_rate
    for column, (waveform, name) in enumerate(zip(waveforms, names)):
        power = np.asarray(power_spectrogram(np.asarray(waveform)[None]))[0]      # (F, K)
        draw_waveform(axes[0, column], waveform, sample_rate, f'"{name}"')
        draw_image(axes[1, column], 10 * np.log10(power + 1e-10), frame_seconds=seconds,
                   ylabel="frequency (Hz)", title="power spectrogram (dB)", top=sample_rate / 2,
                   scale="power (dB)")
        draw_image(axes[2, column], speech_features([waveform])[0], frame_seconds=seconds,
                   ylabel="coefficient", title="MFCCs", scale="MFCC value")
    return figure


def draw_confusion(ax, true, predicted, names):
    """Counts of (true word, predicted word); the diagonal is right."""
    counts = np.zeros((len(names), len(names)), dtype=int)
    np.add.at(counts, (np.asarray(true), np.asarray(predicted)), 1)
    ax.imshow(counts, cmap="Blues", vmin=0)     # white is 0: the text colour below reads
    ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("said")
    for (row, column), count in np.ndenumerate(counts):
        if count:
            ax.text(column, row, str(count), ha="center", va="center", fontsize=8,
                    color="white" if count > counts.max() / 2 else "black")
    accuracy = np.trace(counts) / max(1, counts.sum())
    ax.set_title(f"words of unheard speakers: {accuracy:.0%} right (chance {1 / len(names):.0%})")
    return ax


def plot_confusion(true, predicted, names):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(7, 6.5))
    draw_confusion(ax, true, predicted, names)
    return figure


BLANK = "_"      # how the CTC blank (class 0) is written in the decodings table


def runs(path, symbols):
    """A per-frame best-class path as runs of one class: [(name, frames)], the blank as "_"."""
    found = []
    for c in path:
        name = BLANK if c == 0 else symbols[c - 1]
        if found and found[-1][0] == name:
            found[-1][1] += 1
        else:
            found.append([name, 1])
    return [(name, count) for name, count in found]


def pick_decodings(references, hypotheses, count=8):
    """Indices of `count` test utterances worth showing: the wrongly decoded first (at most
    half of the rows), then right ones of as many different label sequences as there are."""
    wrong = [i for i, (r, h) in enumerate(zip(references, hypotheses)) if list(r) != list(h)]
    right = [i for i, (r, h) in enumerate(zip(references, hypotheses)) if list(r) == list(h)]
    chosen = wrong[:max(count // 2, count - len(right))]
    seen = set()
    for i in right:                               # one of each word first, then any
        if len(chosen) < count and tuple(references[i]) not in seen:
            chosen.append(i)
            seen.add(tuple(references[i]))
    chosen += [i for i in right if i not in chosen][:count - len(chosen)]
    return chosen[:count]


def draw_decodings(ax, references, hypotheses, symbols, paths):
    """A table of greedy CTC decoding, one utterance a row: what was said, the best class of
    every frame (as runs: "iy×4" is 4 frames of iy, "_" the blank), the runs merged, then the
    blanks dropped (the transcription), and whether that is what was said."""
    def spell(ids):
        return " ".join(symbols[i - 1] for i in ids) or "(nothing)"

    ax.axis("off")
    rows = []
    for reference, hypothesis, path in zip(references, hypotheses, paths):
        found = runs(path, symbols)
        rows.append([spell(reference),
                     " ".join(f"{name}×{n}" if n > 1 else name for name, n in found),
                     " ".join(name for name, _ in found), spell(hypothesis),
                     "yes" if list(reference) == list(hypothesis) else "NO"])
    table = ax.table(cellText=rows, loc="center", cellLoc="left",
                     colLabels=["said", "best class per frame (×frames)", "repeats merged",
                                "blanks dropped", "right"],
                     colWidths=[0.09, 0.5, 0.2, 0.13, 0.07])
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.5)
    for cell in table.get_celld().values():
        cell.PAD = 0.02                       # of the cell's width: wide cells, small margins
    ax.set_title("greedy CTC decoding of test words: best class per frame, merge repeats, "
                 f"drop blanks ({BLANK})", fontsize=10)
    return ax


def plot_decodings(references, hypotheses, symbols, paths):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(13, 0.4 * len(references) + 1.2))
    draw_decodings(ax, references, hypotheses, symbols, paths)
    return figure
