"""ex04's checks on a submission with one known mistake in each student function but the
forecaster, and unfinished ex03 cells: every mistake costs its own check and is named in the
feedback; the forecaster checks (Keras's cells standing in) keep all their points.

Run: PYTHONPATH=. python -m pytest -q tests/kit/exercises/test_ex04_grading.py   (one grading, ~30 s)
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
