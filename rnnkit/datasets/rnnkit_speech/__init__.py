"""tfds builder of the speech-like words (`rnnkit.datasets.speech`)."""
