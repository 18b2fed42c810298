"""Where `pip install -r requirements.txt` must work: each supported platform, checked offline.

The kit supports Linux x86_64, macOS on Apple silicon and Windows amd64, each with every
Python in `PYTHONS`. `requirements.txt` uses environment markers where the platforms differ
(TensorFlow's CPU build is `tensorflow-cpu` on Linux and Windows, `tensorflow` on macOS);
everything else is pinned to the same version everywhere.

`check()` proves, without network and without those machines, that every pin resolves on
each platform: it evaluates each line's markers in that platform's environment and looks for
a wheel of the pinned version whose tags that platform's pip accepts, among the wheel files
recorded in `data/platforms/wheels.json`. Those files are recorded by pip itself (the file pip
picks for each platform and Python, `--only-binary=:all:`), so the check is conservative: a
pin is accepted only for a platform where pip actually found a wheel.

    python -m rnnkit.tools.platforms            # the offline check, one line per platform
    python -m rnnkit.tools.platforms --record   # ask pip again (network) and rewrite wheels.json
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from rnnkit import KIT_ROOT

REQUIREMENTS = KIT_ROOT / "requirements.txt"
WHEELS = KIT_ROOT / "data" / "platforms" / "wheels.json"
PYTHONS = ("3.11", "3.12", "3.13")      # what every pin publishes wheels for (see wheels.json)
GLIBC_MINOR = 28                        # oldest glibc assumed on Linux: 2.28 (Debian 10, RHEL 8)
MACOS = (12, 0)                         # oldest macOS TensorFlow 2.21 supports on Apple silicon


def _manylinux(arch: str, glibc_minor: int) -> list[str]:
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_{arch}" for minor, name in legacy.items() if minor <= glibc_minor]


@dataclass(frozen=True)
class Platform:
    name: str
    label: str
    markers: dict            # the platform's values of PEP 508's environment markers
    platform_tags: tuple     # the wheel platform tags its pip accepts, most specific first

    def environment(self, python: str) -> dict:
        return {**self.markers, "python_version": python, "python_full_version": f"{python}.0",
                "implementation_name": "cpython", "platform_python_implementation": "CPython",
                "implementation_version": f"{python}.0"}

    def tags(self, python: str) -> set[Tag]:
        """Every wheel tag CPython `python` accepts on this platform (as packaging computes)."""
        version = tuple(int(part) for part in python.split("."))
        interpreter = f"cp{version[0]}{version[1]}"
        return set(cpython_tags(version, abis=[interpreter], platforms=self.platform_tags)) | \
            set(compatible_tags(version, interpreter, platforms=self.platform_tags))


PLATFORMS = (
    Platform("linux-x86_64", f"Linux x86_64 (glibc 2.{GLIBC_MINOR} or newer)",
             {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
              "platform_machine": "x86_64", "platform_release": "", "platform_version": ""},
             tuple(_manylinux("x86_64", GLIBC_MINOR))),
    Platform("macos-arm64", f"macOS {MACOS[0]} or newer on Apple silicon",
             {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
              "platform_machine": "arm64", "platform_release": "", "platform_version": ""},
             tuple(mac_platforms(MACOS, "arm64"))),
    Platform("windows-amd64", "Windows amd64",
             {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
              "platform_machine": "AMD64", "platform_release": "", "platform_version": ""},
             ("win_amd64",)),
)


# Not supported, and recorded as such: TensorFlow 2.21 publishes no wheel for Intel Macs.
UNSUPPORTED = (
    Platform("macos-x86_64", f"macOS {MACOS[0]} or newer on Intel",
             {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
              "platform_machine": "x86_64", "platform_release": "", "platform_version": ""},
             tuple(mac_platforms(MACOS, "x86_64"))),
)


class PlatformProblem(Exception):
    """A requirement line the check cannot read; the message names the line."""


def requirements(text: str) -> list[tuple[int, Requirement]]:
    """(line number, requirement) of every requirement line (comments and blanks skipped)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            found.append((number, Requirement(line)))
        except InvalidRequirement as error:
            raise PlatformProblem(f"requirements.txt line {number}: {error}") from None
    return found


def pin_of(requirement: Requirement) -> str | None:
    """'name==version' (canonical name) when the requirement is one exact pin, else None."""
    specs = list(requirement.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        return None
    return f"{canonicalize_name(requirement.name)}=={specs[0].version}"


def resolve(text: str, platform: Platform, python: str) -> list[str]:
    """The pins `requirements.txt` (its `text`) installs on `platform` with `python`."""
    environment = platform.environment(python)
    return [pin_of(req) or str(req) for _, req in requirements(text)
            if req.marker is None or req.marker.evaluate(environment)]


def _wheel_tags(filename: str) -> set[Tag]:
    try:
        return set(parse_wheel_filename(filename)[3])
    except InvalidWheelFilename:
        return set()              # an sdist or anything else: never a wheel a platform accepts


def problems(text: str, wheels: dict, platforms=PLATFORMS, pythons=PYTHONS) -> list[str]:
    """One sentence per (platform, Python, requirement) that would not install; [] when all do.

    `wheels`: {"name==version": [wheel file names]} (the `wheels` of data/platforms/wheels.json)."""
    found = []
    for platform in platforms:
        for python in pythons:
            accepted = platform.tags(python)
            where = f"{platform.label}, Python {python}"
            for _, req in requirements(text):
                if req.marker is not None and not req.marker.evaluate(platform.environment(python)):
                    continue
                pin = pin_of(req)
                if pin is None:
                    found.append(f"{where}: {req} is not pinned to one version (name==version)")
                    continue
                files = wheels.get(pin)
                if files is None:
                    found.append(f"{where}: no wheel of {pin} is recorded in "
                                 "data/platforms/wheels.json (run `python -m rnnkit.tools.platforms "
                                 "--record`)")
                elif not any(_wheel_tags(name) & accepted for name in files):
                    found.append(f"{where}: {pin} publishes no wheel for it (recorded: "
                                 f"{', '.join(sorted(files)) or 'none'})")
    return found


def load_wheels(path: Path = WHEELS) -> dict:
    return json.loads(Path(path).read_text())["wheels"]


def check(requirements_path: Path = REQUIREMENTS, wheels_path: Path = WHEELS) -> list[str]:
    return problems(Path(requirements_path).read_text(), load_wheels(wheels_path))


# -- recording (network: pip asks the package index) --------------------------------------------
def _pip_choices(pins: list[str], platform: Platform, python: str) -> dict[str, str]:
    """{pin: wheel file name} that pip picks for `pins` on `platform` and `python`, without
    installing anything (a dry run with pip's own report); raises PlatformProblem naming the
    pin pip cannot find a wheel of."""
    version = python.replace(".", "")
    with tempfile.TemporaryDirectory(prefix="rnnkit-wheels-") as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                   "--no-deps", "--only-binary=:all:", "--no-cache-dir", "--quiet",
                   "--disable-pip-version-check", "--target", str(Path(folder) / "target"),
                   "--python-version", python, "--implementation", "cp", "--abi", f"cp{version}",
                   "--report", str(report)]
        for tag in platform.platform_tags:
            command += ["--platform", tag]
        done = subprocess.run(command + pins, capture_output=True, text=True)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
            raise PlatformProblem(f"{platform.label}, Python {python}: pip found no wheel: "
                                  + (" ".join(errors) or done.stderr.strip()[-300:]))
        chosen = {}
        for item in json.loads(report.read_text())["install"]:
            metadata = item["metadata"]
            pin = f"{canonicalize_name(metadata['name'])}=={metadata['version']}"
            chosen[pin] = item["download_info"]["url"].rsplit("/", 1)[-1]
        return chosen


def record(requirements_path: Path = REQUIREMENTS, wheels_path: Path = WHEELS,
           log=print) -> dict:
    """Ask pip, for each platform and Python, which wheel it would install for each pin, and
    write data/platforms/wheels.json. Raises PlatformProblem when a pin has no wheel somewhere."""
    import importlib.metadata

    text = Path(requirements_path).read_text()
    wheels: dict[str, set] = {}
    failures = []
    for platform in PLATFORMS:
        for python in PYTHONS:
            pins = [pin for pin in resolve(text, platform, python)]
            try:
                chosen = _pip_choices(pins, platform, python)
            except PlatformProblem:       # say which pin: one at a time
                chosen = {}
                for pin in pins:
                    try:
                        chosen.update(_pip_choices([pin], platform, python))
                    except PlatformProblem as error:
                        failures.append(str(error))
            for pin, filename in chosen.items():
                wheels.setdefault(pin, set()).add(filename)
            log(f"{platform.label}, Python {python}: {len(chosen)} of {len(pins)} pins have a wheel")
    if failures:
        raise PlatformProblem("\n".join(failures))
    without = {}                  # what the README says cannot be installed there, as pip says
    for platform in UNSUPPORTED:
        for python in PYTHONS:
            for pin in resolve(text, platform, python):
                try:
                    _pip_choices([pin], platform, python)
                except PlatformProblem:
                    without.setdefault(platform.name, set()).add(pin)
        log(f"{platform.label}: no wheel of {', '.join(sorted(without.get(platform.name, ())))}")
    document = {
        "about": "For each pin of requirements.txt, the wheel files pip picks on each supported "
                 "platform and Python (pip install --dry-run --only-binary=:all: --platform ...). "
                 "Written by `python -m rnnkit.tools.platforms --record`; read by the kit's test.",
        "recorded_with": f"pip {importlib.metadata.version('pip')}",
        "platforms": {p.name: p.label for p in PLATFORMS},
        "pythons": list(PYTHONS),
        "wheels": {pin: sorted(files) for pin, files in sorted(wheels.items())},
        "no_wheel": {name: sorted(pins) for name, pins in sorted(without.items())},
    }
    Path(wheels_path).parent.mkdir(parents=True, exist_ok=True)
    Path(wheels_path).write_text(json.dumps(document, indent=1) + "\n")
    return document


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv == ["--record"]:
            record()
            print(f"wrote {WHEELS.relative_to(KIT_ROOT)}")
        elif argv:
            print("usage: python -m rnnkit.tools.platforms [--record]", file=sys.stderr)
            return 2
        found = check()
    except PlatformProblem as error:
        print(error, file=sys.stderr)
        return 1
    for platform in PLATFORMS:
        mine = [p for p in found if p.startswith(platform.label + ",")]
        print(f"{platform.label}: " + ("every pin has a wheel for Python " + ", ".join(PYTHONS)
                                      if not mine else f"{len(mine)} problem(s)"))
    for line in found:
        print("- " + line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
