"""The Gradescope autograder bundle: `python -m rnnkit gradescope --out autograder.zip`.

`setup.sh` runs once, as root, when Gradescope builds the image: it finds (or installs with
apt) a Python the pinned packages support, makes a virtual environment of its own and installs
into it only what grading imports. `run_autograder` runs per submission with that environment's
Python and calls `python -m rnnkit grade-submission` (`rnnkit.tools.classroom.grade_submission`).

Why a virtual environment: Gradescope's default image (Ubuntu 22.04) has Python 3.10, older
than numpy 2.4 / keras 3.15 / matplotlib 3.11 accept, and newer images (Ubuntu 24.04, Debian
12 and 13) refuse `pip install` into the system Python (PEP 668, "externally managed").
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.tools.classroom import SubmissionProblem

# The Pythons every pinned package has wheels for (tensorflow-cpu 2.21: 3.10-3.13; numpy 2.4,
# keras 3.15, matplotlib 3.11: 3.11 and newer).
PYTHON_MIN, PYTHON_MAX = (3, 11), (3, 13)

# What grading imports: the grader (pytest and its plugin), the probes and the students'
# modules (TensorFlow, Keras, NumPy; matplotlib because the lessons import it and a student's
# module may at its top). Not tensorflow-datasets (and importlib_resources, which only its
# builders need): grading makes its data with the NumPy generators in rnnkit/datasets/, and
# without it `rnnkit.datasets` skips registering the tfds builders. Not nltk (the kit's tests).
GRADING_PACKAGES = ("tensorflow-cpu", "keras", "numpy", "matplotlib", "pytest")
REQUIREMENTS = "requirements-grading.txt"

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
#  1. A Python @WANT@ (a final CPython release): $RNNKIT_PYTHON when set, else the first of
#     python3, python3.13, python3.12, python3.11 on PATH. None there: as root with apt, the
#     image's own python3.X and python3.X-venv packages, then on Ubuntu the deadsnakes PPA.
#  2. A virtual environment of its own ($RNNKIT_VENV, default $ROOT/venv): newer images refuse
#     pip in the system Python (PEP 668) and the system's packages stay as they are.
#  3. pip installs what grading imports (@REQUIREMENTS@, pinned) into it; pip's own settings
#     (PIP_INDEX_URL, PIP_FIND_LINKS, a pip.conf) are honoured.
#  4. The kit becomes readable by root only: student code runs as `nobody` and needs nothing
#     of it (it imports a private copy of the student-side code); the venv stays world-readable.
set -euo pipefail
umask 022
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="${RNNKIT_VENV:-$ROOT/venv}"

say() { printf 'setup.sh: %s\n' "$*"; }
fail() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

usable() {   # the path of Python command $1 if it is a final CPython @WANT@
    local path
    path="$(command -v "$1" 2>/dev/null)" || return 1
    "$path" -c 'import sys; v = sys.version_info
ok = sys.implementation.name == "cpython" and v.releaselevel == "final"
sys.exit(0 if ok and (@MIN_TUPLE@) <= v[:2] <= (@MAX_TUPLE@) else 1)' >/dev/null 2>&1 || return 1
    printf '%s\n' "$path"
}

find_python() {
    local name
    for name in python3 python3.13 python3.12 python3.11; do
        usable "$name" && return 0
    done
    return 1
}

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && command -v apt-cache >/dev/null; }
APT_UPDATED=""
apt_update() {
    [ -n "$APT_UPDATED" ] && return 0
    say "apt-get update"
    apt-get update -qq && APT_UPDATED=1
}
apt_has() { [[ "$(apt-cache policy "$1" 2>/dev/null)" =~ Candidate:\ [0-9] ]]; }
apt_install() {
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# -- 1. a Python --------------------------------------------------------------------------------
PYTHON=""
if [ -n "${RNNKIT_PYTHON:-}" ]; then
    PYTHON="$(usable "$RNNKIT_PYTHON")" \
        || fail "RNNKIT_PYTHON=$RNNKIT_PYTHON is not a CPython @WANT@"
else
    PYTHON="$(find_python)" || PYTHON=""
fi
if [ -z "$PYTHON" ] && can_apt; then
    say "no Python @WANT@ on PATH: trying this image's apt packages"
    if apt_update; then
        for version in 3.12 3.11 3.13; do
            apt_has "python$version" || continue
            packages="python$version"
            apt_has "python$version-venv" && packages="$packages python$version-venv"
            # shellcheck disable=SC2086
            apt_install $packages || continue
            PYTHON="$(usable "python$version")" && break
            say "python$version from apt is not a final release; not used"
            PYTHON=""
        done
    fi
fi
if [ -z "$PYTHON" ] && can_apt && grep -qs '^ID=ubuntu' /etc/os-release; then
    say "trying the deadsnakes PPA (Ubuntu's Pythons not shipped by the release itself)"
    if apt_install software-properties-common gpg-agent \
            && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update -qq \
            && apt_install python3.12 python3.12-venv; then
        PYTHON="$(usable python3.12)" || PYTHON=""
    fi
fi
if [ -z "$PYTHON" ]; then
    how="without apt as root, none could be installed"
    can_apt && how="apt installed none that works"
    can_apt && grep -qs '^ID=ubuntu' /etc/os-release && how="$how, nor from the deadsnakes PPA"
    fail "no Python @WANT@ found (tried python3, python3.13, python3.12, python3.11 on PATH; $how). Choose a base image with one (Ubuntu 24.04: 3.12), or set RNNKIT_PYTHON to one."
fi
VERSION="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
say "using Python $VERSION ($PYTHON)"

# -- 2. a virtual environment of its own ----------------------------------------------------------
rm -rf "$VENV"
if ! error="$("$PYTHON" -m venv "$VENV" 2>&1)"; then
    rm -rf "$VENV"
    short="python${VERSION%.*}"
    say "$PYTHON cannot make a virtual environment: $(printf '%s' "$error" | tail -n 1)"
    if can_apt && apt_update && apt_has "$short-venv" && apt_install "$short-venv"; then
        "$PYTHON" -m venv "$VENV" || fail "$PYTHON cannot make a virtual environment in $VENV"
    else
        fail "$PYTHON cannot make a virtual environment (Debian, Ubuntu: apt-get install $short-venv)"
    fi
fi

# -- 3. what grading imports -----------------------------------------------------------------------
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off \
        -r "$SOURCE/@REQUIREMENTS@" \
    || fail "pip could not install @REQUIREMENTS@ into $VENV (its message is above)"
"$VENV/bin/python" -c 'import keras, numpy, pytest, tensorflow
print("setup.sh: installed tensorflow", tensorflow.__version__, "keras", keras.__version__,
      "numpy", numpy.__version__)' \
    || fail "the packages installed into $VENV do not import (the message is above)"

# -- 4. the kit for root only; the venv for everyone ------------------------------------------------
chmod -R go-rwx "$SOURCE"
chmod o+x "$ROOT"
say "ready: run_autograder grades with $VENV/bin/python"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission: the submission is in $ROOT/submission and the
# results must land in $ROOT/results/results.json (ROOT is /autograder on Gradescope). It
# grades with the virtual environment setup.sh made.
set -uo pipefail
EXERCISES="@EXERCISES@"   # what this assignment grades (empty: every exercise)
ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="${RNNKIT_VENV:-$ROOT/venv}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
if [ ! -x "$VENV/bin/python" ]; then
    printf '{"score": 0, "tests": [], "output": "%s"}\n' \
        "The autograder is not installed: $VENV/bin/python is missing. setup.sh failed when the image was built; its log (Configure Autograder) says why." \
        >"$RESULTS"
    exit 1
fi
cd "$ROOT/source" || exit 1
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE
export KERAS_BACKEND=tensorflow CUDA_VISIBLE_DEVICES="" TF_CPP_MIN_LOG_LEVEL=2 PYTHONNOUSERSITE=1
# shellcheck disable=SC2086
exec "$VENV/bin/python" -m rnnkit grade-submission "$ROOT/submission" --json "$RESULTS" \
    ${EXERCISES:+--exercises $EXERCISES}
"""

def _wanted() -> str:
    return f"{PYTHON_MIN[0]}.{PYTHON_MIN[1]}-{PYTHON_MAX[0]}.{PYTHON_MAX[1]}"


def setup_script() -> str:
    return (SETUP_SH.replace("@WANT@", _wanted()).replace("@REQUIREMENTS@", REQUIREMENTS)
            .replace("@MIN_TUPLE@", "%d, %d" % PYTHON_MIN)
            .replace("@MAX_TUPLE@", "%d, %d" % PYTHON_MAX))


def grading_requirements(root: Path = KIT_ROOT) -> str:
    """The pinned lines of requirements.txt for GRADING_PACKAGES (one source of versions)."""
    from rnnkit.tools.platforms import pin_of, requirements     # the one reader of requirements.txt

    pins = dict(pin.split("==") for pin in (pin_of(requirement) for _, requirement in
                                            requirements((root / "requirements.txt").read_text()))
                if pin)
    missing = [name for name in GRADING_PACKAGES if name not in pins]
    if missing:
        raise SubmissionProblem(f"requirements.txt pins no version of {', '.join(missing)}")
    return ("# What grading imports (written by `python -m rnnkit gradescope` from "
            "requirements.txt)\n" + "".join(f"{name}=={pins[name]}\n" for name in GRADING_PACKAGES))


def run_script(exercises=None) -> str:
    return RUN_AUTOGRADER.replace("@EXERCISES@", " ".join(exercises or ()))


def official_payload(root: Path = KIT_ROOT, exercises=None) -> dict[str, Path]:
    """{path in a hosted grader's kit: file here}: what official grading of `exercises` (all
    if None) needs, by room (`rooms.official_files`), only the solutions those exercises grade
    with, the course secret (as `rooms.SECRET`, wherever it lives here) and the reference's
    trainings recorded under it. Shared by every hosted target: the Gradescope bundle and the
    container image (`rnnkit.tools.image`). SubmissionProblem when the kit cannot grade
    officially (no solutions/, no course secret, an unknown exercise)."""
    from rnnkit.course import BY_ID, EXERCISES, closure
    from rnnkit import rooms
    from rnnkit.grader import secret

    if not (root / "solutions" / "__init__.py").is_file():
        raise SubmissionProblem("the hosted grader needs solutions/ (the official grade)")
    try:
        held = secret.load(root)
    except secret.SecretProblem as problem:
        raise SubmissionProblem(str(problem)) from None
    if held is None:
        raise SubmissionProblem(f"the hosted grader gives the official grade, which needs the "
                                f"course secret ({secret.path(root)}): `python -m rnnkit "
                                "release` makes one")
    unknown = [e for e in exercises or () if e not in BY_ID]
    if unknown:
        raise SubmissionProblem(f"unknown exercise {', '.join(unknown)}; the exercises are "
                                f"{', '.join(BY_ID)}")
    graded = {e.id: e for chosen in (exercises or [x.id for x in EXERCISES])
              for e in closure(BY_ID[chosen])}
    needed = {"__init__.py"} | {e.filename for e in graded.values()}
    payload = {}
    for path in rooms.official_files(root):   # what official grading needs, by room
        relative = path.relative_to(root).as_posix()
        if rooms.instructor_only(relative):
            continue       # the secret and its recordings: below, wherever they live
        if relative.startswith("solutions/") and path.name not in needed:
            continue       # an assignment's kit carries only the solutions it grades with
        payload[relative] = path
    held_at = secret.path(root)
    payload[rooms.SECRET] = held_at           # root-only wherever a hosted grader keeps it
    recordings = held_at.parent / "official-references"   # references.official_dir
    for path in sorted(recordings.glob("*")) if recordings.is_dir() else []:
        if path.name == "manifest.json" or path.stem in graded:
            payload[rooms.OFFICIAL_RECORDINGS + path.name] = path
    return payload


def write_gradescope_bundle(out: Path, root: Path = KIT_ROOT, exercises=None) -> Path:
    """The bundle at `out` (a .zip); `exercises`: the ids this assignment grades (all if None)."""
    out = Path(out)
    if out.suffix != ".zip":
        raise SubmissionProblem(f"--out {out} must end in .zip")
    payload = official_payload(root, exercises)
    requirements = grading_requirements(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)          # it holds the course secret: readable by its owner only
    out.chmod(0o600)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", setup_script()),
                           ("run_autograder", run_script(exercises))):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 | stat.S_IFREG) << 16
            bundle.writestr(info, text)
        bundle.writestr(REQUIREMENTS, requirements)
        for relative, path in payload.items():
            bundle.write(path, relative)
    return out
