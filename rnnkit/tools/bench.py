"""`python -m rnnkit bench`: the kit's budgets (README, "Budgets"), measured on this machine.

- grading `solutions/` (every exercise) as the official grade, `--repeat` runs: under the
  instructor's course secret, or one made for the run whose official recordings are made
  first, as `release` makes them once per course; wall time; memory of grader,
  zygote and student processes together, as proportional set size (PSS: shared pages —
  TensorFlow's libraries, the zygote's imports inherited by each fork — counted once, split
  between the processes sharing them) and as resident sets summed (shared pages counted in
  every process); seconds per exercise and the slowest training check;
- starting a student process: the zygote once, each fork from it, and the ordinary way
  (a fresh interpreter importing TensorFlow), which is what a fork saves;
- training speed: one epoch of `RNN(custom cell)` against Keras's built-in layer, same
  weights and data, runs interleaved, median per-epoch time and its ratio (budget 1.2x);
- class throughput (`--class-size N`): `grade-class --jobs 2` on N copies of the solutions:
  the whole run, and the rate once each slot's warm grader is started (what a class of
  hundreds is graded at).

Medians and spreads (min-max), because these machines are noisy. Writes
runs/bench/bench.md (the table) and runs/bench/bench.json (every figure) too.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.course import EXERCISES

BUDGETS = {"grading_seconds": 90, "training_check_seconds": 10, "pss_gib": 1.0,
           "ratio": 1.2, "class_per_minute": 6}


def _tree(root_pid: int) -> list[int]:
    from rnnkit.grader.handles.reaper import process_table

    table = process_table()
    found, frontier = [], [root_pid]
    while frontier:
        pid = frontier.pop()
        if pid in table:
            found.append(pid)
        frontier += [child for child, (parent, _) in table.items() if parent == pid]
    return found


def _pss(pid: int) -> int:
    """Proportional set size of `pid` in bytes (0 when it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


PSS_EVERY = 0.5      # seconds between two readings of PSS at most (see measure_command)
PSS_AT_LEAST_EVERY = 2.0   # ... and at least: a peak that RSS does not show (pages becoming
                           # unshared after a fork) is still seen within two seconds


def measure_command(command: list[str], cwd=KIT_ROOT, per_child: bool = False,
                    output=subprocess.DEVNULL) -> dict:
    """Run `command`; its seconds, exit status, and the peaks (bytes) of the PSS and of the
    summed RSS of its process tree. With `per_child`, the peaks are those of the largest tree
    under one direct child (one submission's grading in grade-class).

    The observer must not slow what it measures: reading smaps_rollup (PSS) of a TensorFlow
    process takes 20-40 ms and holds its memory map's lock, so reading three of them every
    50 ms kept a core busy and stalled the graded processes (runs 10-20 % slower). RSS (statm,
    microseconds) is read every 50 ms; PSS when the summed RSS has reached a new high since the
    last reading, at most every PSS_EVERY seconds, and every PSS_AT_LEAST_EVERY otherwise. The
    observer's own CPU time is returned as `observer_cpu`."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.DEVNULL)
    peaks = {"pss": 0, "rss": 0, "processes": 0, "observer_cpu": 0.0}
    stop = threading.Event()

    def sample():
        read_at, high = 0.0, 0
        while not stop.is_set():
            if per_child:
                from rnnkit.grader.handles.reaper import process_table

                roots = [pid for pid, (parent, _) in process_table().items()
                         if parent == process.pid]
            else:
                roots = [process.pid]
            trees = [_tree(root) for root in roots]
            rss = [sum(_rss(pid) for pid in pids) for pids in trees]
            now = time.monotonic()
            if trees and now - read_at >= PSS_EVERY and (max(rss) > high or
                                                         now - read_at >= PSS_AT_LEAST_EVERY):
                for pids in trees:
                    peaks["pss"] = max(peaks["pss"], sum(_pss(pid) for pid in pids))
                read_at, high = now, max(high, max(rss))
            for pids, summed in zip(trees, rss):
                peaks["rss"] = max(peaks["rss"], summed)
                peaks["processes"] = max(peaks["processes"], len(pids))
            peaks["observer_cpu"] = time.thread_time()
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    stop.set()
    sampler.join()
    return {"seconds": time.monotonic() - started, "code": code, **peaks}


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


def course_secret() -> str:
    """The course secret the official gradings below run under, said in one line: the
    instructor's (its recordings as release left them: stale ones are trained live, and the
    line says so), or one made for this run in a temporary folder, its official recordings
    made first (not timed: release makes them once per course)."""
    import atexit
    import shutil

    from rnnkit.grader import secret
    from rnnkit.tools import release

    held = secret.load()
    if held is not None:
        stale = [e.id for e in release.stale_official(KIT_ROOT, held)]
        return (f"the course secret {held.id}" + (
            f"; official recordings stale for {', '.join(stale)} (run release): the reference "
            "trains live there, inside the timed grading" if stale else ""))
    folder = tempfile.mkdtemp(prefix="rnnkit-bench-course-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ[secret.ENVIRONMENT] = os.path.join(folder, secret.FILE_NAME)
    held, _ = secret.make()
    print("no course secret here: making one for this run and its official recordings, as "
          "release would ...", flush=True)
    started = time.monotonic()
    release.record_official(KIT_ROOT, held)
    return (f"a course secret made for this run ({held.id}; its official recordings took "
            f"{time.monotonic() - started:.0f} s, untimed: release makes them once per course)")


def bench_grading(repeat: int) -> dict:
    from rnnkit.grader.api import catalogue

    training = {(row["exercise"], row["name"]) for row in catalogue() if row.get("training")}
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(repeat):
            details = Path(scratch) / f"details-{run}.json"
            command = [sys.executable, "-m", "rnnkit", "grade", "--target",
                       str(KIT_ROOT / "solutions"), "--details", str(details)]
            measured = measure_command(command)
            if measured["code"] != 0:
                raise SystemExit(f"grading solutions/ failed with status {measured['code']}")
            checks = json.loads(details.read_text())
            lost = [c for c in checks if c["points"] < c["max_points"]]
            if lost:
                raise SystemExit(f"solutions lost points: {lost[0]['feedback']}")
            per_exercise: dict[str, float] = {}
            for check in checks:
                per_exercise[check["exercise"]] = per_exercise.get(check["exercise"], 0.0) \
                    + check["seconds"]
            trained = [c for c in checks if (c["exercise"], c["name"]) in training]
            worst = max(trained or checks, key=lambda c: c["seconds"])
            runs.append({**measured, "per_exercise": per_exercise,
                         "training_checks": {f"{c['exercise']} {c['name']}": c["seconds"]
                                             for c in trained}})
            print(f"  grading run {run + 1}/{repeat}: {measured['seconds']:.1f} s, peak PSS "
                  f"{measured['pss'] / 2**30:.2f} GiB (RSS summed {measured['rss'] / 2**30:.2f}"
                  f" GiB), slowest training check {worst['seconds']:.1f} s", flush=True)
    exercises = sorted(runs[0]["per_exercise"])
    return {
        "seconds": spread([r["seconds"] for r in runs]),
        "pss_gib": spread([r["pss"] / 2**30 for r in runs]),
        "rss_gib": spread([r["rss"] / 2**30 for r in runs]),
        "processes": max(r["processes"] for r in runs),
        "per_exercise": {e: spread([r["per_exercise"].get(e, 0.0) for r in runs])
                         for e in exercises},
        "training_checks": {name: spread([r["training_checks"].get(name, 0.0) for r in runs])
                            for name in sorted(runs[0]["training_checks"])},
        "observer_cpu": spread([r["observer_cpu"] for r in runs]),
    }


STARTS_SNIPPET = r"""
import json, os, sys, time, statistics
sys.path.insert(0, {root!r})
os.environ["RNNKIT_ZYGOTE"] = "on"
from pathlib import Path
from rnnkit.course import BY_ID
from rnnkit.grader.session import sandbox_config
from rnnkit.grader.handles import process, zygote
exercise = BY_ID["ex04"]
config = sandbox_config(exercise)
def start(kind):
    os.environ["RNNKIT_ZYGOTE"] = "on" if kind == "fork" else "off"
    began = time.monotonic()
    with process.StudentProcess(Path({root!r}) / "solutions", exercise.module, config=config,
                                copy=config["copy"]) as proc:
        proc._start()
        assert isinstance(proc.proc, zygote.ForkedChild) == (kind == "fork")
        return time.monotonic() - began
out = {{"zygote": None, "fork": [], "fresh": []}}
if zygote.available():
    began = time.monotonic()
    current = process.shared_zygote(str(Path({root!r})), process.worker_environment())
    with process.StudentProcess(Path({root!r}) / "solutions", exercise.module, config=config,
                                copy=config["copy"]) as proc:
        proc._start()
    out["zygote"] = time.monotonic() - began
    out["fork"] = [start("fork") for _ in range({repeat})]
out["fresh"] = [start("fresh") for _ in range({repeat})]
process.close_zygotes()
print(json.dumps(out))
"""


def bench_starts(repeat: int) -> dict:
    """Seconds to start ex04's student process (until its module is imported and it is walled
    in): the zygote's first start, a fork, and a fresh interpreter (the ordinary way)."""
    code = STARTS_SNIPPET.format(root=str(KIT_ROOT), repeat=repeat)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=KIT_ROOT)
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-2000:])
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    return {"zygote": found["zygote"], "fork": spread(found["fork"]) if found["fork"] else None,
            "fresh": spread(found["fresh"])}


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


def bench_class(size: int, exercises: list[str], jobs: int = 2) -> dict:
    """grade-class --jobs 2 on `size` copies of the solutions of `exercises`, each with a
    comment of its own: a class's files differ, and so do the fresh input seeds drawn from
    them (identical files would share every oracle result in the warm graders' memo).
    Identical code still trains identical weights, so the scores of trained weights are
    shared here as they would not be in a class (~0.5 s of ex03's grading)."""
    from rnnkit.course import resolve

    modules = [e.filename for e in resolve(exercises)]
    with tempfile.TemporaryDirectory() as scratch:
        submissions = Path(scratch) / "submissions"
        for index in range(size):
            folder = submissions / f"student{index:02d}"
            folder.mkdir(parents=True)
            for name in modules:
                text = (KIT_ROOT / "solutions" / name).read_text(encoding="utf-8")
                (folder / name).write_text(f"{text}\n# student{index:02d}'s copy\n",
                                           encoding="utf-8")
        command = [sys.executable, "-m", "rnnkit", "grade-class", str(submissions), "--out",
                   str(Path(scratch) / "out"), "--jobs", str(jobs), "--exercises", *exercises]
        # Twice: timed as an instructor runs it, then with the memory observer, which reads
        # every process's memory map and took ~18 s of CPU from the two busy cores (the
        # rate measured under it is that much lower than an instructor's).
        with open(Path(scratch) / "printed.txt", "w+", encoding="utf-8") as printed:
            started = time.monotonic()
            code = subprocess.run(command, cwd=KIT_ROOT, stdout=printed,
                                  stderr=subprocess.DEVNULL).returncode
            elapsed = time.monotonic() - started
            printed.seek(0)
            seconds = each_submission(printed.read())
        if code != 0:
            raise SystemExit(f"grade-class failed with status {code}")
        measured = measure_command(command, per_child=True)
        if measured["code"] != 0:
            raise SystemExit(f"grade-class failed with status {measured['code']}")
    # Each slot's first submission also waits for its warm grader to start (imports, zygote);
    # the ones after it show the rate a class of hundreds is graded at.
    later = spread(seconds[jobs:]) if seconds[jobs:] else None
    return {"size": size, "jobs": jobs, "exercises": exercises,
            "per_minute": size / (elapsed / 60), "seconds": elapsed,
            "each": seconds, "later": later,
            "steady_per_minute": jobs * 60 / later["median"] if later else None,
            "pss_gib": measured["pss"] / 2**30, "rss_gib": measured["rss"] / 2**30,
            "observer_cpu": measured["observer_cpu"], "observed_seconds": measured["seconds"]}


def each_submission(printed: str) -> list[float]:
    """The seconds of each submission, in the order grade-class finished them, from its
    progress lines ("[3/8] student02: 65 / 65 (21 s)")."""
    import re

    return [float(found) for found in
            re.findall(r"^\[\d+/\d+\] .*?\((\d+(?:\.\d+)?) s\)", printed, re.MULTILINE)]


def _seconds(found: dict, digits: int = 1) -> str:
    return f"{found['median']:.{digits}f} s ({found['min']:.{digits}f}-{found['max']:.{digits}f})"


def _gib(found: dict) -> str:
    return f"{found['median']:.2f} GiB ({found['min']:.2f}-{found['max']:.2f})"


def machine() -> str:
    try:
        with open("/proc/meminfo") as handle:
            memory = int(handle.readline().split()[1]) / 2**20
    except OSError:
        memory = 0
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
            f"{memory:.0f} GiB, Python {platform.python_version()}")


def _slowest(grading: dict) -> str | None:
    """The name of the training check with the highest median (None: no training check)."""
    checks = grading["training_checks"]
    return max(checks, key=lambda n: checks[n]["median"]) if checks else None


def slowest_check(grading: dict) -> str:
    """The training check with the highest median, its median and range across runs."""
    name = _slowest(grading)
    return f"{_seconds(grading['training_checks'][name])} ({name})" if name else "-"


def slowest_median(grading: dict) -> float:
    name = _slowest(grading)
    return grading["training_checks"][name]["median"] if name else 0.0


def _target(limit, unit: str, measured: float, at_least: bool = False) -> str:
    """The target, marked when the median measured misses it."""
    missed = measured < limit if at_least else measured > limit
    return f"{limit:g}{unit}" + (" **missed**" if missed else "")


def report(figures: dict) -> str:
    grading, starts = figures["grading"], figures["starts"]
    runs = len(grading["seconds"]["runs"])
    lines = [f"rnnkit bench, {figures['date']}, on {figures['machine']}; medians of {runs} runs "
             "(min-max); official gradings under " + figures.get("secret", "no course secret"),
             "",
             "| budget | measured | target |", "|---|---|---|",
             f"| grade all {len(EXERCISES)} exercises against solutions/ | "
             f"{_seconds(grading['seconds'])} "
             f"| {_target(BUDGETS['grading_seconds'], ' s', grading['seconds']['median'])} |",
             f"| slowest training check, median (min-max) | {slowest_check(grading)} | "
             f"{_target(BUDGETS['training_check_seconds'], ' s', slowest_median(grading))} |",
             f"| peak memory, grader + zygote + student process (PSS) | {_gib(grading['pss_gib'])}"
             f" | {_target(BUDGETS['pss_gib'], ' GiB', grading['pss_gib']['median'])} |",
             f"| the same as resident sets summed (shared pages counted in each) | "
             f"{_gib(grading['rss_gib'])} | - |"]
    if starts["fork"]:
        lines.append(f"| start a student process: forked from the zygote / a fresh interpreter"
                     f" | {_seconds(starts['fork'], 2)} / {_seconds(starts['fresh'])} (zygote "
                     f"itself once: {starts['zygote']:.1f} s) | - |")
    else:
        lines.append(f"| start a student process (fresh interpreter; no zygote here) | "
                     f"{_seconds(starts['fresh'])} | - |")
    for cell, r in figures["training"].items():
        lines.append(f"| one training epoch, RNN({cell}) vs keras.layers.{r['builtin_name']} | "
                     f"{r['custom']:.3f} s vs {r['builtin']:.3f} s = {r['ratio']:.2f}x | "
                     f"{_target(BUDGETS['ratio'], 'x', r['ratio'])} |")
    klass = figures.get("class")
    if klass:
        lines.append(f"| grade-class --jobs {klass['jobs']}, {klass['size']} submissions of "
                     f"{', '.join(klass['exercises'])}, the whole run | "
                     f"{klass['per_minute']:.1f} per minute ({klass['seconds']:.0f} s) | - |")
        if klass.get("later"):
            later = klass["later"]
            lines.append(f"| the same after each slot's first submission (warm graders "
                         f"started): {klass['jobs']} x 60 s / median seconds of one | "
                         f"{klass['steady_per_minute']:.1f} per minute "
                         f"({later['median']:.0f} s each, {later['min']:.0f}-"
                         f"{later['max']:.0f}) | "
                         f"{_target(BUDGETS['class_per_minute'], ' per minute', klass['steady_per_minute'], at_least=True)} |")
        lines.append(f"| peak memory of one job slot during grade-class: warm grader, zygote, "
                     f"grader, student process (PSS) | {klass['pss_gib']:.2f} GiB | - |")
    lines += ["", "Seconds per exercise (the sum of its checks, process start included):", "",
              "| " + " | ".join(grading["per_exercise"]) + " |",
              "|" + "---|" * len(grading["per_exercise"]),
              "| " + " | ".join(f"{v['median']:.1f}" for v in grading["per_exercise"].values())
              + " |", "", "Training checks (median seconds):", ""]
    lines += [f"- {name}: {v['median']:.1f} ({v['min']:.1f}-{v['max']:.1f})"
              for name, v in grading["training_checks"].items()]
    if "observer_cpu" in grading:
        lines += ["", f"The observer (memory sampling) used {_seconds(grading['observer_cpu'])} "
                  "of CPU per grading run."]
    if klass and klass.get("observer_cpu") is not None:
        lines += [f"The class's rates are from a run without it; the slot's memory is from a "
                  f"second run, which it observed ({klass.get('observed_seconds', 0):.0f} s; "
                  f"it used {klass['observer_cpu']:.1f} s of CPU from the two busy cores)."]
    return "\n".join(lines)


def main(repeat: int = 3, class_size: int = 0, class_exercises=None) -> str:
    if not (KIT_ROOT / "solutions" / "__init__.py").is_file():
        raise SystemExit("bench grades solutions/: run it in the instructor's kit")
    figures = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "budgets": BUDGETS}
    figures["secret"] = course_secret()
    print(f"grading solutions/ officially {repeat} times ({figures['secret']}) ...", flush=True)
    figures["grading"] = bench_grading(repeat)
    print(f"starting student processes, {repeat + 2} times each way ...", flush=True)
    figures["starts"] = bench_starts(repeat + 2)
    print(f"training one epoch (2048 x 50 steps, 64 units), {max(15, 5 * repeat)} interleaved "
          "runs ...",
          flush=True)
    # epochs of 0.15-0.4 s on a noisy machine: with 5 the ratios ranged 0.71-1.49 from run to
    # run, with 15 0.89-1.11
    figures["training"] = bench_training(max(15, 5 * repeat))
    if class_size:
        exercises = list(class_exercises or ["ex01", "ex02", "ex03"])
        print(f"grading a class of {class_size} ({', '.join(exercises)}; grade-class --jobs 2)"
              " ...", flush=True)
        figures["class"] = bench_class(class_size, exercises)
    text = report(figures)
    out = KIT_ROOT / "runs" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(text + "\n")
    (out / "bench.json").write_text(json.dumps(figures, indent=1) + "\n")
    print()
    print(text)
    print(f"\nwritten: {out / 'bench.md'}, {out / 'bench.json'}")
    return text
