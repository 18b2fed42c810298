"""ex04's checks on a submission with one known mistake in each student function but the
forecaster, and unfinished ex03 cells: every mistake costs its own check and is named in the
feedback; the forecaster checks (Keras's cells standing in) keep all their points.

Below, the corpus of classic mistakes (issue 24): the same promise for mistakes planted in a
correct module written in another style (tests/kit/exercises/styled/), three more gradings.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex04_grading.py   (four gradings)
"""
import shutil

import pytest

from rnnkit import KIT_ROOT
from conftest import grade

MISTAKES = {   # reference line -> mistaken line
    "return dataset.map(lambda w: (w[:, :window, None], w[:, window:]))":
        "return dataset.map(lambda w: (w[:, :window, None], w[:, window - 1:-1]))",
    'stats = {"mean": float(np.mean(train64)), "std": float(np.std(train64))}':
        "every = np.concatenate([train64, np.ravel(val), np.ravel(test)])\n"
        '    stats = {"mean": float(np.mean(every)), "std": float(np.std(every))}',
    "last = np.asarray(x)[:, -1, 0]": "last = np.asarray(x)[:, 0, 0]",
    "design = np.concatenate([design, np.ones((len(design), 1))], axis=1)":
        "design = np.concatenate([design, np.zeros((len(design), 1))], axis=1)",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ex04_mistakes")
    for name in ("ex01_simple_rnn.py", "ex03_gated_cells.py"):      # unfinished stubs
        shutil.copy(KIT_ROOT / "exercises" / name, folder / name)
    source = (KIT_ROOT / "solutions" / "ex04_time_series.py").read_text()
    for right, wrong in MISTAKES.items():
        assert source.count(right) == 1, right
        source = source.replace(right, wrong)
    (folder / "ex04_time_series.py").write_text(source)
    result = grade(folder, "ex04", tmp=tmp_path_factory.mktemp("ex04_results"))
    return {t["name"].split(" ", 1)[1]: t for t in result.tests}, result


def check(graded, words):
    tests, _ = graded
    return next(t for name, t in tests.items() if words in name)


@pytest.mark.parametrize("title, feedback", [
    ("make_windows: every window and its targets equal the reference, in order (next value)",
     "your targets are shifted one step early"),
    ("make_windows: every window and its targets equal the reference, in order (horizon 3)",
     "your targets are shifted one step early"),
    ("normalize_splits", "your mean is that of all three splits together: the test split's "
                         "statistics leaked"),
    ("Changing only the test split", "the test split's statistics leak into the normalisation"),
    ("naive_forecast", "you repeated the FIRST input value"),
    ("fit_linear + linear_forecast", "it matches a fit without the bias"),
])
def test_each_mistake_costs_its_check_and_is_named(graded, title, feedback):
    test = check(graded, title)
    assert test["score"] == 0 and feedback in test["output"], test["output"]


@pytest.mark.parametrize("title", [
    "make_windows(shuffle=True)",              # compared with the student's own windows
    "build_forecaster(cell) with given weights predicts what Keras's layers + Dense do (LSTM",
    "build_forecaster(cell) with given weights predicts what Keras's layers + Dense do (GRU",
    "your LSTM forecaster's test MAE is far below the naive one",
    "your forecaster's test MAE is close to the reference's",
])
def test_other_checks_keep_their_points(graded, title):
    test = check(graded, title)
    assert test["score"] == test["max_score"], test["output"]


def test_the_report_says_keras_cells_stood_in(graded):
    _, result = graded
    assert "keras.layers.LSTMCell stood in" in result.completed.stdout


# -- the corpus of classic mistakes (issue 24), planted in a correct module of another style --
# tests/kit/exercises/styled/ex04_time_series.py; one grading per group (the mistakes of a
# group hit different checks), the training checks deselected: none of these mistakes is in
# the forecaster. Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex04_grading.py -k corpus
from corpus import (assert_named_where_it_costs,  # noqa: E402
                    assert_untouched_checks_keep_their_points)
from corpus import Group, Mistake, cases, find, grade_groups  # noqa: E402

WINDOWS = "make_windows: every window and its targets equal the reference, in order"
TARGETS = "    targets = values[starts + window + np.arange(horizon)]"
DENORMALIZE = ('return np.add(np.multiply(np.array(values, dtype=np.float64), stats["std"]), '
               'stats["mean"])')
CORPUS = {
    "targets one step late": Mistake(
        [("count = len(values) - window - horizon + 1", "count = len(values) - window - horizon"),
         (TARGETS, "    targets = values[starts + window + 1 + np.arange(horizon)]")],
        {f"{WINDOWS} (next value)": ["your targets are shifted one step late"],
         f"{WINDOWS} (horizon 3)": ["your targets are shifted one step late"]}),
    "window off by one (targets one step early)": Mistake(
        [(TARGETS, "    targets = values[starts + window - 1 + np.arange(horizon)]")],
        {f"{WINDOWS} (next value)": ["your targets are shifted one step early"],
         f"{WINDOWS} (horizon 3)": ["your targets are shifted one step early"]}),
    "horizon targets reversed": Mistake(
        [(TARGETS, "    targets = values[starts + window + np.arange(horizon)[::-1]]")],
        {f"{WINDOWS} (horizon 3)": ["your targets run backwards", "in time order"]}),
    "test-statistics leak": Mistake(
        [("    mu = train.mean()\n    sigma = train.std()",
          "    every = np.concatenate([train, np.ravel(val), np.ravel(test)])\n"
          "    mu = every.mean()\n    sigma = every.std()")],
        {"normalize_splits": ["all three splits together", "test split's statistics leaked"],
         "Changing only the test split": ["the test split's statistics leak"]}),
    "linear fit without bias": Mistake(
        [("    features = np.hstack([features, np.ones((features.shape[0], 1))])\n", ""),
         ("    return coefficients[:-1], coefficients[-1]",
          "    return coefficients, np.zeros(targets.shape[1])")],
        {"fit_linear + linear_forecast": ["a fit without the bias"]}),
    "forecasts left normalised": Mistake(
        [(DENORMALIZE, "return np.array(values, dtype=np.float64)")],
        {"denormalize": ["forecasts are left normalised", "values * std + mean"]}),
    "forecasts normalised a second time": Mistake(
        [(DENORMALIZE, 'return (np.array(values, dtype=np.float64) - stats["mean"]) / '
                       'stats["std"]')],
        {"denormalize": ["you normalised them a second time"]}),
}
GROUPS = {
    "late, leak, no bias, normalised": Group(("targets one step late", "test-statistics leak",
                                              "linear fit without bias",
                                              "forecasts left normalised")),
    "early": Group(("window off by one (targets one step early)",), selection="make_windows"),
    "reversed, normalised twice": Group(("horizon targets reversed",
                                         "forecasts normalised a second time"),
                                        selection="make_windows or denormalize"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return grade_groups("ex04", CORPUS, GROUPS, tmp_path_factory.mktemp("ex04_corpus"))


@pytest.mark.parametrize("group, mistake, check, words", cases(CORPUS, GROUPS))
def test_corpus_each_mistake_is_named_where_it_costs(corpus, group, mistake, check, words):
    assert_named_where_it_costs(find(corpus[group], check), mistake, words)


@pytest.mark.parametrize("group", list(GROUPS))
def test_corpus_checks_no_mistake_names_keep_their_points(corpus, group):
    kept = assert_untouched_checks_keep_their_points(CORPUS, GROUPS, corpus, group)
    assert kept or GROUPS[group].selection, group
