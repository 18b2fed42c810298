"""The class report, written by every grade-class run (merges included) from the kept results:
`OUT/class-report.md` (per-check pass rates, the most-failed checks, the diagnosed mistakes by
how many students made them, the score distribution as a table) and `OUT/class-report.png`
(the same distribution as a plot).

A student *handed in* an exercise when its checks ran or found it not started (not: missing,
unreadable, grading failed); a check's pass rate is over those students. A check *failed*
when it lost points for another reason than "not started". A *diagnosed mistake* is what a
feedback line says after the numbers: the clause naming the mistake ("your cell matches one
without the bias b", "it is the gradient without the tanh derivative", ...), counted once per
student and exercise, numbers in it set aside when grouping.
"""
from __future__ import annotations

import re
from statistics import median
from datetime import datetime
from pathlib import Path

from rnnkit.grader.results import split_points

MARKDOWN = "class-report.md"
PLOT = "class-report.png"
NOT_HANDED_IN = ("missing", "not_graded", "grading_failed")
NAMING = ("your ", "it is ", "it was ", "the values are ", "they are ", "the loss is ")
NOT_A_DIAGNOSIS = ("your code raised", "same cause as")
BINS = 10      # the score distribution in tenths of the maximum


def diagnosis(feedback: str) -> str | None:
    """The clause of a feedback line that names the mistake (see the module docstring)."""
    if not feedback or feedback.startswith(NOT_A_DIAGNOSIS):
        return None
    clauses = feedback.split("; ")
    for number, clause in enumerate(clauses[1:], start=1):
        if clause.startswith(NAMING) and not clause.startswith(NOT_A_DIAGNOSIS):
            return "; ".join(clauses[number:])
    return None


def _masked(text: str) -> str:
    return re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", text)


def statistics(kept: dict[str, dict]) -> dict:
    """Counts over the kept results ({folder: results document})."""
    checks: dict[tuple, dict] = {}
    mistakes: dict[tuple, dict] = {}
    scores, bonus = [], []
    for folder, document in kept.items():
        tests = document["tests"]
        # A bonus exercise's points are outside the maximum: not in the distribution, counted
        # apart (the students graded on one, and their bonus points).
        score, maximum, extra, extra_max = split_points(
            (t["tags"][0], t["score"], t["max_score"]) for t in tests)
        if maximum > 0:
            scores.append(100.0 * score / maximum)
        if extra_max > 0:
            bonus.append((extra, extra_max))
        seen_mistakes = set()
        for test in tests:
            exercise, kind = test["tags"][0], test["tags"][1]
            title = test["name"][len(exercise) + 1:]
            row = checks.setdefault((exercise, title), {
                "points": test["max_score"], "handed_in": 0, "passed": 0, "failed": 0,
                "not_started": 0, "not_handed_in": 0})
            if kind in NOT_HANDED_IN:
                row["not_handed_in"] += 1
                continue
            row["handed_in"] += 1
            if test["score"] >= test["max_score"]:
                row["passed"] += 1
            elif kind == "not_started":
                row["not_started"] += 1
            else:
                row["failed"] += 1
                named = diagnosis(test.get("output", ""))
                if named and (exercise, _masked(named)) not in seen_mistakes:
                    seen_mistakes.add((exercise, _masked(named)))
                    entry = mistakes.setdefault((exercise, _masked(named)), {
                        "example": named, "students": 0, "checks": set()})
                    entry["students"] += 1
                if named:
                    mistakes[(exercise, _masked(named))]["checks"].add(title)
    return {"checks": checks, "mistakes": mistakes, "scores": scores, "bonus": bonus,
            "students": len(kept)}


def distribution(scores: list[float]) -> list[tuple[str, int]]:
    """[(label, students)] in tenths of the maximum; 100 % counts in the last tenth."""
    counts = [0] * BINS
    for score in scores:
        counts[min(BINS - 1, int(score // (100 / BINS)))] += 1
    width = 100 // BINS
    return [(f"{i * width}-{(i + 1) * width} %" if i < BINS - 1 else f"{i * width}-100 %", n)
            for i, n in enumerate(counts)]


def markdown(stats: dict, plot_name: str = PLOT) -> str:
    checks, mistakes = stats["checks"], stats["mistakes"]
    lines = [f"# Class report ({datetime.now().astimezone():%Y-%m-%d %H:%M})", "",
             f"{stats['students']} students. Pass rates are over the students who handed the "
             "exercise in (its checks ran, or found it not started).", "",
             "## Score distribution", "", f"![score distribution]({plot_name})", "",
             "| total score | students |", "|---|---:|"]
    lines += [f"| {label} | {count} |" for label, count in distribution(stats["scores"])]
    bonus = stats.get("bonus") or []
    if bonus:
        earned = sorted(points for points, _ in bonus)
        lines += ["", f"Bonus, outside the maximum (not in the scores above): {len(bonus)} "
                  f"students graded, {sum(1 for p in earned if p > 0)} earned bonus points "
                  f"(median {median(earned):g} of {max(m for _, m in bonus):g})."]
    failing = sorted(((row["failed"], key) for key, row in checks.items() if row["failed"]),
                     key=lambda item: (-item[0], item[1]))[:10]
    lines += ["", "## Most-failed checks", ""]
    if failing:
        lines += ["| exercise | check | failed | handed in |", "|---|---|---:|---:|"]
        lines += [f"| {key[0]} | {_cell(key[1])} | {count} | {checks[key]['handed_in']} |"
                  for count, key in failing]
    else:
        lines.append("No check failed.")
    lines += ["", "## Diagnosed mistakes", ""]
    named = sorted(mistakes.items(), key=lambda item: (-item[1]["students"], item[0]))
    if named:
        lines += ["| exercise | mistake | students | checks |", "|---|---|---:|---|"]
        lines += [f"| {key[0]} | {_cell(entry['example'])} | {entry['students']} | "
                  f"{_cell('; '.join(sorted(entry['checks'])))} |" for key, entry in named]
    else:
        lines.append("No feedback named a mistake.")
    lines += ["", "## Every check", "",
              "| exercise | check | points | pass rate | passed | failed | not started | "
              "not handed in |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for (exercise, title), row in checks.items():
        rate = f"{100 * row['passed'] / row['handed_in']:.0f} %" if row["handed_in"] else "-"
        lines.append(f"| {exercise} | {_cell(title)} | {row['points']:g} | {rate} | "
                     f"{row['passed']} | {row['failed']} | {row['not_started']} | "
                     f"{row['not_handed_in']} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def plot(path: Path, scores: list[float]) -> Path:
    """The score distribution as a bar chart (matplotlib's object API: no display needed)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.5))
    ax = figure.add_subplot()
    bins = distribution(scores)
    ax.bar(range(len(bins)), [count for _, count in bins], color="#4878a8")
    ax.set_xticks(range(len(bins)), [label.replace(" %", "") for label, _ in bins], rotation=30)
    ax.set_xlabel("total score (% of the maximum)")
    ax.set_ylabel("students")
    ax.set_title(f"Score distribution ({len(scores)} students)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def write(out: Path, kept: dict[str, dict], echo=print) -> Path:
    stats = statistics(kept)
    plot(Path(out) / PLOT, stats["scores"])
    path = Path(out) / MARKDOWN
    path.write_text(markdown(stats), encoding="utf-8")
    echo(f"class report: {path} (plot: {Path(out) / PLOT})")
    return path
