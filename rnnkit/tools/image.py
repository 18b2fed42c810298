"""The grading container image's build context: `python -m rnnkit image --out DIR`.

One image serves PrairieLearn's external grader (`rnnkit.tools.prairielearn`) and a class
graded on a cluster (`grade-class --shard`). DIR holds:

    Dockerfile                  deploy/Dockerfile, as it is
    requirements-grading.txt    the pins grading imports (the Gradescope bundle's, one source)
    kit/                        what official grading needs (`gradescope.official_payload`: the
                                official rooms, the solutions of the exercises graded, the
                                course secret and its recordings); root-only in the image
    rnnkit-prairielearn         PrairieLearn's entry point

DIR is written readable by its owner only: it holds the course secret.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from rnnkit import KIT_ROOT, rooms
from rnnkit.tools.classroom import SubmissionProblem
from rnnkit.tools.gradescope import REQUIREMENTS, grading_requirements, official_payload

DOCKERFILE = "deploy/Dockerfile"
KIT = "kit"
ENTRY_POINT = "rnnkit-prairielearn"

# PrairieLearn runs this as the container's entry point (info.json's "entrypoint"). The kit's
# folder and /grade can be moved for a test (RNNKIT_KIT, RNNKIT_GRADE_ROOT); the exercises a
# question grades come from info.json's "environment": {"RNNKIT_EXERCISES": "ex01 ex02"}.
ENTRY_SCRIPT = r"""#!/bin/sh
# PrairieLearn's external grader for rnnkit: grades /grade/student officially and writes
# /grade/results/results.json (always, also when nothing could be graded).
KIT="${RNNKIT_KIT:-/opt/rnnkit}"
cd "$KIT" || exit 1
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE
export KERAS_BACKEND=tensorflow CUDA_VISIBLE_DEVICES="" TF_CPP_MIN_LOG_LEVEL=2 PYTHONNOUSERSITE=1
# shellcheck disable=SC2086
exec python -m rnnkit prairielearn --root "${RNNKIT_GRADE_ROOT:-/grade}" \
    ${RNNKIT_EXERCISES:+--exercises $RNNKIT_EXERCISES}
"""


def write_image_context(out: Path, root: Path = KIT_ROOT, exercises=None) -> Path:
    """The build context at `out` (a new or empty folder); `exercises`: those the image grades
    (all if None)."""
    out = Path(out).resolve()
    if out == root or root in out.parents:
        raise SubmissionProblem(f"--out {out} is inside the kit; choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        raise SubmissionProblem(f"--out {out} exists and is not empty; nothing was written")
    payload = official_payload(root, exercises)
    requirements = grading_requirements(root)
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)               # it holds the course secret
    shutil.copyfile(root / DOCKERFILE, out / "Dockerfile")
    (out / REQUIREMENTS).write_text(requirements)
    entry = out / ENTRY_POINT
    entry.write_text(ENTRY_SCRIPT)
    entry.chmod(0o755)
    for relative, path in payload.items():
        target = out / KIT / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        if relative == rooms.SECRET:
            target.chmod(0o600)    # in the COPY layer too, before the RUN that closes the kit
    return out
