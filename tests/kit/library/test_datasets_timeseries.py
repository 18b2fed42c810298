"""Tests of the ex04 data: the NumPy generators, the rnnkit_timeseries tfds builder,
`rnnkit.datasets.load`, and the CSV reader on the shipped sample.

Independent checks where one exists: the Mackey-Glass integrator against a plain Euler
integration at a 100 x finer step, the seasonal series' periods against its FFT, the
builder's examples against windows cut here with NumPy.

Run: PYTHONPATH=. python -m pytest -q tests/kit/library/test_datasets_timeseries.py
"""
import os
import socket

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnkit import KIT_ROOT  # noqa: E402
from rnnkit.datasets import DataError, timeseries  # noqa: E402
from rnnkit.datasets.timeseries_csv import read_csv_series  # noqa: E402

SAMPLE = KIT_ROOT / "data" / "samples" / "timeseries" / "hourly_load.csv"


# -- generators ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", timeseries.SERIES)
def test_generators_are_deterministic_and_seeded(name):
    a, b = timeseries.generate(name, 500, seed=3), timeseries.generate(name, 500, seed=3)
    assert a.dtype == np.float32 and a.shape == (500,)
    np.testing.assert_array_equal(a, b)
    assert np.max(np.abs(a - timeseries.generate(name, 500, seed=4))) > 1e-3


def test_mackey_glass_matches_a_fine_euler_integration():
    """RK4 at dt = 0.1 against forward Euler at dt = 0.001 over 60 time units (before
    chaos separates them): they agree to 1e-3, a wrong delay or coefficient does not."""
    got = timeseries.mackey_glass(61, seed=0, sample_every=1.0, transient=0.0)
    x0 = float(got[0])
    dt, delay = 0.001, 17000
    history = [x0] * (delay + 1)
    for k in range(delay, delay + 60000):
        old = history[k - delay]
        history.append(history[k] + dt * (0.2 * old / (1 + old ** 10) - 0.1 * history[k]))
    euler = np.asarray(history[delay::1000])[:61]
    np.testing.assert_allclose(got, euler, atol=1e-3)


def test_mackey_glass_stays_on_its_attractor():
    x = timeseries.mackey_glass(3000, seed=0)
    assert 0.2 < x.min() < 0.6 and 1.1 < x.max() < 1.5       # the tau = 17 attractor's range
    assert np.std(x[:1000]) > 0.1 and np.std(x[-1000:]) > 0.1  # not decayed to a fixed point


def test_seasonal_series_has_its_two_periods():
    x = timeseries.seasonal_series(4100, seed=0, slope=0.0)
    power = np.abs(np.fft.rfft(x - x.mean())) ** 2
    periods = len(x) / np.argsort(power)[-2:]
    assert sorted(np.round(periods).tolist()) == [12, 41]


def test_seasonal_series_trend():
    x = timeseries.seasonal_series(4100, seed=0, noise_std=0.0)
    assert np.mean(x[-410:]) - np.mean(x[:410]) == pytest.approx(2e-4 * 3690, abs=0.05)


def test_split_series_is_chronological_and_complete():
    series = np.arange(1001)
    train, val, test = timeseries.split_series(series)
    assert (len(train), len(val), len(test)) == (700, 150, 151)
    np.testing.assert_array_equal(np.concatenate([train, val, test]), series)


@pytest.mark.parametrize("call, words", [
    (lambda: timeseries.generate("sunspots"), "unknown series 'sunspots'"),
    (lambda: timeseries.mackey_glass(10, tau=17.05), "tau=17.05"),
    (lambda: timeseries.seasonal_series(1), "length=1"),
    (lambda: timeseries.split_series(np.arange(10), (0.5, 0.5, 0.5)), "(0.5, 0.5, 0.5)"),
])
def test_generator_arguments_are_checked(call, words):
    with pytest.raises(ValueError, match=None) as error:
        call()
    assert words in str(error.value)


# -- the tfds builder ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """mackey_glass built twice in two data directories, the first with sockets refused."""
    import tensorflow_datasets as tfds

    from rnnkit import datasets

    tfds.disable_progress_bar()
    first, second = tmp_path_factory.mktemp("tfds1"), tmp_path_factory.mktemp("tfds2")
    real_socket = socket.socket

    def refuse(*args, **kwargs):
        raise OSError("network access during a data set build")

    socket.socket = refuse
    try:
        splits = {split: datasets.load("rnnkit_timeseries/mackey_glass", split, data_dir=first)
                  for split in ("train", "validation", "test")}
    finally:
        socket.socket = real_socket
    again = datasets.load("rnnkit_timeseries/mackey_glass", "train", data_dir=second)
    return {"splits": {k: _arrays(v) for k, v in splits.items()}, "again": _arrays(again),
            "dir": first}


def _arrays(dataset):
    pairs = [(np.asarray(x), np.asarray(y)) for x, y in dataset]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def test_builder_split_sizes(built):
    # 3000 values -> 2100 / 450 / 450; T + K = 32, so 2069 / 419 / 419 windows
    sizes = {k: len(v[0]) for k, v in built["splits"].items()}
    assert sizes == {"train": 2069, "validation": 419, "test": 419}


def test_builder_examples_are_the_generator_windows(built):
    series = timeseries.mackey_glass(3000, seed=0)
    parts = dict(zip(("train", "validation", "test"), timeseries.split_series(series)))
    for split, (x, y) in built["splits"].items():
        windows = np.lib.stride_tricks.sliding_window_view(parts[split], 32)  # (N, T + K)
        np.testing.assert_array_equal(x[..., 0], windows[:, :24])
        np.testing.assert_array_equal(y, windows[:, 24:])
        assert x.shape[1:] == (24, 1) and x.dtype == np.float32


def test_two_builds_are_identical(built):
    for got, want in zip(built["again"], built["splits"]["train"]):
        np.testing.assert_array_equal(got, want)


def test_tfds_load_works_after_importing_the_kit(built):
    import tensorflow_datasets as tfds

    import rnnkit.datasets  # noqa: F401  (registers the builders)

    dataset = tfds.load("rnnkit_timeseries/mackey_glass", split="test[:5]",
                        as_supervised=True, data_dir=str(built["dir"]))
    x, y = next(iter(dataset))
    np.testing.assert_array_equal(np.asarray(y), built["splits"]["test"][1][0])


def test_seasonal_config_builds(tmp_path):
    from rnnkit import datasets

    x, y = _arrays(datasets.load("rnnkit_timeseries/seasonal", "test", data_dir=tmp_path))
    assert x.shape == (395, 48, 1) and y.shape == (395, 8)   # 450 - 56 + 1 windows


@pytest.mark.parametrize("name, split, words", [
    ("rnnkit_timeseries/sunspots", "train", "valid configs of rnnkit_timeseries are "
                                            "mackey_glass, seasonal"),
    ("rnnkit_weather", "train", "unknown data set 'rnnkit_weather'"),
    ("rnnkit_timeseries/mackey_glass", "dev", "unknown split 'dev'"),
])
def test_bad_arguments_give_one_line(built, name, split, words):
    from rnnkit import datasets

    with pytest.raises(DataError) as error:
        datasets.load(name, split, data_dir=built["dir"])
    assert words in str(error.value) and "\n" not in str(error.value)


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    from rnnkit import datasets

    monkeypatch.setenv("RNNKIT_DATA_DIR", str(tmp_path))
    assert datasets.default_data_dir() == tmp_path
    monkeypatch.delenv("RNNKIT_DATA_DIR")
    assert datasets.default_data_dir().parts[-2:] == ("tensorflow_datasets", "rnnkit")


# -- the CSV reader on the shipped sample ----------------------------------------------------
def test_sample_is_read_sorted_with_interpolated_gaps():
    times, values = read_csv_series(SAMPLE, "load_MW", time_column="Datetime",
                                    missing="interpolate")
    assert len(values) == 336 and values.dtype == np.float64
    assert np.all(np.diff(times) == np.timedelta64(3600, "s"))     # sorted, hourly, no holes
    assert times[0] == np.datetime64("2024-03-04T00:00:00")
    gap = int(np.flatnonzero(times == np.datetime64("2024-03-08T04:00:00"))[0])
    assert values[gap] == pytest.approx((values[gap - 1] + values[gap + 1]) / 2)


def test_sample_refuses_gaps_by_default_naming_the_line():
    with pytest.raises(DataError, match=r"hourly_load\.csv: line 270: column 'load_MW' has a "
                                        r"missing value"):
        read_csv_series(SAMPLE, "load_MW", time_column="Datetime")


def test_sample_drop_removes_the_two_gaps():
    times, values = read_csv_series(SAMPLE, "load_MW", time_column="Datetime", missing="drop")
    assert len(times) == len(values) == 334
    assert np.datetime64("2024-03-14T10:00:00") not in times


def test_sample_without_time_column_keeps_file_order():
    _, values = read_csv_series(SAMPLE, "temperature_C")
    assert values[:2].tolist() == [2.7, -0.5]                     # lines 2 and 3 of the file


def _variant(tmp_path, text):
    path = tmp_path / "variant.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _sample_lines():
    return SAMPLE.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("make, column, words", [
    (lambda lines: lines[0] + "\n", "load_MW", "no data rows after the header line"),
    (lambda lines: "\n".join(lines[:3] + ["2024-03-11 02:00:00,12O5.3,1.0"] + lines[4:]),
     "load_MW", "line 4: column 'load_MW' holds '12O5.3', which is not a number"),
    (lambda lines: "\n".join(lines), "load_kW", "line 1: no column 'load_kW'; the header has "
                                                "'Datetime', 'load_MW', 'temperature_C'"),
    (lambda lines: "", "load_MW", "the file is empty"),
    (lambda lines: "\n".join(lines[:5] + ["2024-03-11 04:00:00,1.0"]), "load_MW",
     "line 6: 2 cells, the header has 3"),
    (lambda lines: "\n".join(lines[:5] + [lines[2]]), "load_MW",
     "have the same time 2024-03-11T01:00:00"),
    (lambda lines: "\n".join(lines[:2] + ["11/03/2024 01:00,1.0,1.0"]), "load_MW",
     "line 3: column 'Datetime' holds '11/03/2024 01:00', which is not a time"),
])
def test_malformed_files_give_one_line_naming_file_and_line(tmp_path, make, column, words):
    path = _variant(tmp_path, make(_sample_lines()))
    with pytest.raises(DataError) as error:
        read_csv_series(path, column, time_column="Datetime")
    message = str(error.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message


def test_missing_file_and_bad_mode(tmp_path):
    with pytest.raises(DataError, match="nope.csv: cannot open"):
        read_csv_series(tmp_path / "nope.csv", "x")
    with pytest.raises(DataError, match="received missing='fill'"):
        read_csv_series(SAMPLE, "load_MW", missing="fill")


def test_gap_at_the_end_cannot_be_interpolated(tmp_path):
    path = _variant(tmp_path, "t,x\n2024-01-01,1\n2024-01-02,2\n2024-01-03,\n")
    with pytest.raises(DataError, match="line 4: a missing value at the end"):
        read_csv_series(path, "x", time_column="t", missing="interpolate")


def test_time_formats_and_offsets(tmp_path):
    path = _variant(tmp_path, "when,x\n2024-01-01T01:00:00+01:00,1\n2024-01-01T00:30:00Z,2\n")
    times, values = read_csv_series(path, "x", time_column="when")
    assert times.tolist() == [np.datetime64("2024-01-01T00:00:00").item(),
                              np.datetime64("2024-01-01T00:30:00").item()]
    assert values.tolist() == [1.0, 2.0]
    path = _variant(tmp_path, "when,x\n02/01/2024 10:00,5\n01/01/2024 10:00,4\n")
    times, values = read_csv_series(path, "x", time_column="when", time_format="%d/%m/%Y %H:%M")
    assert values.tolist() == [4.0, 5.0]


def test_interpolation_uses_time_not_row_position(tmp_path):
    path = _variant(tmp_path, "t,x\n2024-01-01 00:00,0\n2024-01-01 01:00,NA\n"
                              "2024-01-01 04:00,8\n")
    _, values = read_csv_series(path, "x", time_column="t", missing="interpolate")
    assert values.tolist() == [0.0, 2.0, 8.0]


def test_a_first_build_says_it_generates_and_downloads_nothing(tmp_path, capfd):
    """tfds's own line ("Downloading and preparing dataset ...") would make a student behind
    no network think the kit needs one: the build says what it does, once."""
    import tensorflow_datasets as tfds

    from rnnkit import datasets

    tfds.disable_progress_bar()
    datasets.load("rnnkit_timeseries/mackey_glass", "test", data_dir=tmp_path)
    first = capfd.readouterr().out
    datasets.load("rnnkit_timeseries/mackey_glass", "test", data_dir=tmp_path)
    second = capfd.readouterr().out
    assert "nothing is downloaded" in first and "Downloading" not in first, first
    assert "Generating" not in second and "Downloading" not in second, second
