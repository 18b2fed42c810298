"""`python -m rnnkit bench`: the budgets of DESIGN.md, measured on this machine.

- grading `solutions/` (every exercise): wall time and peak memory of the whole process
  tree (grader + student processes, resident set summed, sampled every 50 ms), median of
  `--repeat` runs; the slowest single check;
- training speed: one epoch of `RNN(custom cell)` against Keras's built-in layer, same
  weights and data, runs interleaved, median per-epoch time and its ratio (budget 1.2x).

Medians and ratios, because these machines are noisy. Writes runs/bench/bench.md too.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rnnkit import KIT_ROOT


def _tree_rss(root_pid: int) -> int:
    """Resident bytes of `root_pid` and all its descendants."""
    from rnnkit.sandbox.confine import process_table

    table = process_table()
    total, frontier = 0, [root_pid]
    while frontier:
        pid = frontier.pop()
        total += table.get(pid, (0, 0))[1]
        frontier += [child for child, (parent, _) in table.items() if parent == pid]
    return total


def measure_command(command: list[str], cwd=KIT_ROOT, per_child: bool = False):
    """(seconds, peak bytes of the process tree, exit status); with `per_child`, the peak is
    that of the largest single child's tree (one grading process of grade-class)."""
    from rnnkit.sandbox.confine import process_table

    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            if per_child:
                children = [pid for pid, (parent, _) in process_table().items()
                            if parent == process.pid]
                peak = max([peak] + [_tree_rss(child) for child in children])
            else:
                peak = max(peak, _tree_rss(process.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    stop.set()
    sampler.join()
    return time.monotonic() - started, peak, code


def bench_grading(repeat: int) -> dict:
    times, peaks, slowest = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(repeat):
            details = Path(scratch) / f"details-{run}.json"
            command = [sys.executable, "-m", "rnnkit", "grade", "--target",
                       str(KIT_ROOT / "solutions"), "--details", str(details)]
            seconds, peak, code = measure_command(command)
            if code != 0:
                raise SystemExit(f"grading solutions/ failed with status {code}")
            checks = json.loads(details.read_text())
            lost = [c for c in checks if c["points"] < c["max_points"]]
            if lost:
                raise SystemExit(f"solutions lost points: {lost[0]['feedback']}")
            times.append(seconds)
            peaks.append(peak)
            worst = max(checks, key=lambda c: c["seconds"])
            slowest.append((worst["seconds"], f"{worst['exercise']} {worst['name']}"))
            print(f"  grading run {run + 1}/{repeat}: {seconds:.1f} s, peak "
                  f"{peak / 2**30:.2f} GiB, slowest check {worst['seconds']:.1f} s", flush=True)
    return {"seconds": statistics.median(times), "peak_gib": statistics.median(peaks) / 2**30,
            "max_peak_gib": max(peaks) / 2**30, "slowest_check": max(slowest)}


TRAINING_SNIPPET = r"""
import os, sys, time, json, statistics
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras, importlib
sys.path.insert(0, {root!r})
pairs = {pairs!r}
N, T, D, H, repeat = 2048, 50, 8, 64, {repeat}
rng = np.random.default_rng(0)
x = rng.normal(size=(N, T, D)).astype("float32")
y = rng.integers(0, 2, size=N)
results = {{}}
for module_name, cell_name, builtin_name in pairs:
    module = importlib.import_module("solutions." + module_name)
    models = {{}}
    for kind in ("custom", "builtin"):
        keras.utils.set_random_seed(0)
        options = {{"use_cudnn": False}} if builtin_name == "LSTM" else {{}}
        layer = (keras.layers.RNN(getattr(module, cell_name)(H)) if kind == "custom"
                 else getattr(keras.layers, builtin_name)(H, **options))
        inputs = keras.Input(shape=(T, D))
        model = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True), jit_compile=False)
        model.fit(x[:256], y[:256], epochs=1, batch_size=128, verbose=0)  # trace once
        models[kind] = model
    times = {{"custom": [], "builtin": []}}
    for _ in range(repeat):                      # interleaved: drift hits both alike
        for kind, model in models.items():
            started = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=128, verbose=0, shuffle=False)
            times[kind].append(time.perf_counter() - started)
    custom, builtin = statistics.median(times["custom"]), statistics.median(times["builtin"])
    results[cell_name] = {{"custom": custom, "builtin": builtin, "ratio": custom / builtin,
                          "builtin_name": builtin_name}}
print(json.dumps(results))
"""

TRAINING_PAIRS = [("ex01_simple_rnn", "SimpleRNNCell", "SimpleRNN"),
                  ("ex03_gated_cells", "LSTMCell", "LSTM"), ("ex03_gated_cells", "GRUCell", "GRU")]


def bench_training(repeat: int) -> dict:
    pairs = [p for p in TRAINING_PAIRS if (KIT_ROOT / "solutions" / f"{p[0]}.py").is_file()]
    code = TRAINING_SNIPPET.format(root=str(KIT_ROOT), pairs=pairs, repeat=repeat)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=KIT_ROOT)
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-2000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


def bench_class(size: int, jobs: int = 2) -> dict:
    """grade-class on `size` submissions (alternately the solutions and the released stubs)."""
    import shutil

    with tempfile.TemporaryDirectory() as scratch:
        submissions = Path(scratch) / "submissions"
        for index in range(size):
            folder = submissions / f"student{index:02d}"
            source = KIT_ROOT / ("solutions" if index % 2 == 0 else "exercises")
            folder.mkdir(parents=True)
            for path in source.glob("ex*.py"):
                shutil.copy(path, folder / path.name)
        command = [sys.executable, "-m", "rnnkit", "grade-class", str(submissions), "--out",
                   str(Path(scratch) / "out"), "--jobs", str(jobs)]
        seconds, peak, code = measure_command(command, per_child=True)
        if code != 0:
            raise SystemExit(f"grade-class failed with status {code}")
    return {"size": size, "jobs": jobs, "per_minute": size / (seconds / 60),
            "peak_gib": peak / 2**30, "seconds": seconds}


def main(repeat: int = 3, class_size: int = 0) -> str:
    if not (KIT_ROOT / "solutions" / "__init__.py").is_file():
        raise SystemExit("bench grades solutions/: run it in the instructor's kit")
    print(f"grading solutions/ {repeat} times ...", flush=True)
    grading = bench_grading(repeat)
    print(f"training one epoch (2048 x 50 steps, 64 units), {repeat + 2} interleaved runs ...",
          flush=True)
    training = bench_training(repeat + 2)
    lines = [f"rnnkit bench on {os.cpu_count()} CPU cores ({time.strftime('%Y-%m-%d')})", "",
             "| budget | measured (median) | limit |", "|---|---|---|",
             f"| grade all exercises against solutions/ | {grading['seconds']:.0f} s | 120 s |",
             f"| peak memory of grader + student process | {grading['peak_gib']:.2f} GiB "
             f"(max {grading['max_peak_gib']:.2f}) | 2 GiB |",
             f"| slowest single check | {grading['slowest_check'][0]:.1f} s "
             f"({grading['slowest_check'][1]}) | 20 s |"]
    for cell, r in training.items():
        lines.append(f"| one training epoch, RNN({cell}) vs keras.layers.{r['builtin_name']} | "
                     f"{r['custom']:.2f} s vs {r['builtin']:.2f} s = {r['ratio']:.2f}x | 1.2x |")
    if class_size:
        print(f"grading a class of {class_size} (grade-class --jobs 2) ...", flush=True)
        klass = bench_class(class_size)
        lines.append(f"| grade-class, {klass['size']} submissions (half complete, half stubs), "
                     f"--jobs {klass['jobs']} | {klass['per_minute']:.1f} submissions/min "
                     f"({klass['seconds']:.0f} s) | - |")
        lines.append(f"| peak memory of one grading process (grader + student) during "
                     f"grade-class | {klass['peak_gib']:.2f} GiB | - |")
    report = "\n".join(lines)
    out = KIT_ROOT / "runs" / "bench" / "bench.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
    print()
    print(report)
    return report
