"""tfds builder of the ex04 time series (see rnnkit_timeseries_dataset_builder.py)."""
