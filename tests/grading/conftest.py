"""The autograder's pytest wiring: `pytest tests/grading --target DIR` grades DIR."""
from rnnkit.grading.plugin import *  # noqa: F401,F403  (hooks and the `grader` fixture)
