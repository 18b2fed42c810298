"""The Gradescope autograder bundle: `python -m rnnkit gradescope --out autograder.zip`.

`setup.sh` runs once when Gradescope builds the image; `run_autograder` runs per submission and
calls `python -m rnnkit grade-submission` (`rnnkit.classroom.grade_submission`).
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.classroom import SubmissionProblem

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
python3 -m pip install --quiet --disable-pip-version-check -r requirements.txt
# Student code runs as `nobody` where the Python installation allows it; it must not read the
# reference solutions, which stay readable by the grader (root) alone.
chmod -R go-rwx solutions
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: the submission is in $ROOT/submission and the
# results must land in $ROOT/results/results.json (ROOT is /autograder on Gradescope).
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
mkdir -p "$ROOT/results"
export KERAS_BACKEND=tensorflow CUDA_VISIBLE_DEVICES="" TF_CPP_MIN_LOG_LEVEL=2
python3 -m rnnkit grade-submission "$ROOT/submission" --json "$ROOT/results/results.json"
"""

BUNDLE_PARTS = ("rnnkit/**/*.py", "tests/grading/**/*.py", "solutions/*.py", "data/**/*",
                "requirements.txt", "pyproject.toml")


def write_gradescope_bundle(out: Path, root: Path = KIT_ROOT) -> Path:
    from rnnkit.release import kit_files

    out = Path(out)
    if out.suffix != ".zip":
        raise SubmissionProblem(f"--out {out} must end in .zip")
    if not (root / "solutions" / "__init__.py").is_file():
        raise SubmissionProblem("the hosted grader needs solutions/ (fresh-input checks)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 | stat.S_IFREG) << 16
            bundle.writestr(info, text)
        for path in kit_files(root, BUNDLE_PARTS):
            bundle.write(path, path.relative_to(root).as_posix())
    return out
