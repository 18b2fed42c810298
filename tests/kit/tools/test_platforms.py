"""`pip install -r requirements.txt` resolves on every supported platform (issue 13), offline.

The wheel files come from data/platforms/wheels.json, recorded by pip itself
(`python -m rnnkit.tools.platforms --record`); the markers are evaluated by `packaging` in each
platform's environment, and each pin must have a wheel whose tags that platform accepts.
"""
from __future__ import annotations

import json

import pytest

from rnnkit import KIT_ROOT
from rnnkit.tools import platforms
from rnnkit.tools.platforms import PLATFORMS, PYTHONS, UNSUPPORTED, problems, resolve

REQUIREMENTS = (KIT_ROOT / "requirements.txt").read_text()
RECORDED = json.loads(platforms.WHEELS.read_text())
BY_NAME = {p.name: p for p in PLATFORMS + UNSUPPORTED}


def test_every_pin_has_a_wheel_on_every_supported_platform_and_python():
    assert problems(REQUIREMENTS, RECORDED["wheels"]) == []


def test_the_recording_covers_the_platforms_and_pythons_the_check_names():
    assert RECORDED["pythons"] == list(PYTHONS)
    assert set(RECORDED["platforms"]) == {p.name for p in PLATFORMS}
    pins = {pin for p in PLATFORMS for v in PYTHONS for pin in resolve(REQUIREMENTS, p, v)}
    assert pins == set(RECORDED["wheels"]), "re-record: python -m rnnkit.tools.platforms --record"


def test_each_platform_installs_exactly_one_tensorflow_and_everything_else_the_same():
    resolved = {p.name: resolve(REQUIREMENTS, p, "3.11") for p in PLATFORMS}
    tensorflow = {name: [pin for pin in pins if pin.startswith("tensorflow")
                         and not pin.startswith("tensorflow-datasets")]
                  for name, pins in resolved.items()}
    assert tensorflow == {"linux-x86_64": ["tensorflow-cpu==2.21.0"],
                          "macos-arm64": ["tensorflow==2.21.0"],
                          "windows-amd64": ["tensorflow-cpu==2.21.0"]}
    rest = {name: sorted(set(pins) - set(tensorflow[name])) for name, pins in resolved.items()}
    assert rest["linux-x86_64"] == rest["macos-arm64"] == rest["windows-amd64"]


def test_a_pin_one_platform_cannot_install_fails_the_check():
    wheels = {**RECORDED["wheels"], "linuxonly==1.0": ["linuxonly-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"]}
    found = problems(REQUIREMENTS + "linuxonly==1.0\n", wheels)
    assert len(found) == len(PLATFORMS) * len(PYTHONS) - 1   # all but Linux with 3.11
    assert all("linuxonly==1.0 publishes no wheel" in line for line in found)
    assert not any(line.startswith("Linux x86_64 (glibc 2.28 or newer), Python 3.11:") for line in found)


def test_the_old_requirement_without_its_marker_fails_on_macos_only():
    old = REQUIREMENTS.replace('tensorflow-cpu==2.21.0 ; sys_platform != "darwin"',
                               "tensorflow-cpu==2.21.0")
    assert old != REQUIREMENTS
    found = problems(old, RECORDED["wheels"])
    assert len(found) == len(PYTHONS)
    assert all(line.startswith("macOS 12 or newer on Apple silicon") and
               "tensorflow-cpu==2.21.0 publishes no wheel" in line for line in found)


@pytest.mark.parametrize("line, files, expected", [
    ("purelib==1.0", ["purelib-1.0-py3-none-any.whl"], None),
    ("unrecorded==1.0", None, "no wheel of unrecorded==1.0 is recorded"),
    ("sourceonly==1.0", ["sourceonly-1.0.tar.gz"], "sourceonly==1.0 publishes no wheel"),
    ("loose>=1.0", ["loose-1.0-py3-none-any.whl"], "loose>=1.0 is not pinned"),
    ("py312only==1.0", ["py312only-1.0-cp312-abi3-win_amd64.whl",
                        "py312only-1.0-cp312-abi3-macosx_11_0_arm64.whl",
                        "py312only-1.0-cp312-abi3-manylinux_2_17_x86_64.whl"],
     "py312only==1.0 publishes no wheel"),
])
def test_pure_python_resolves_everywhere_and_what_cannot_install_is_named(line, files, expected):
    wheels = dict(RECORDED["wheels"])
    if files is not None:
        wheels[line.split("=")[0].split(">")[0] + "==1.0"] = files
    found = problems(REQUIREMENTS + line + "\n", wheels)
    if expected is None:
        assert found == []
    elif line.startswith("py312only"):     # abi3 from 3.12: fine there and on 3.13, not 3.11
        assert len(found) == len(PLATFORMS) and all(", Python 3.11:" in f and expected in f
                                                    for f in found)
    else:
        assert len(found) == len(PLATFORMS) * len(PYTHONS) and all(expected in f for f in found)


def test_intel_macs_have_no_tensorflow_as_the_readme_says():
    assert "tensorflow==2.21.0" in RECORDED["no_wheel"]["macos-x86_64"]
    intel = BY_NAME["macos-x86_64"]
    assert problems(REQUIREMENTS, RECORDED["wheels"], platforms=(intel,), pythons=("3.11",))
    readme = (KIT_ROOT / "README.md").read_text()
    assert "Intel" in readme and "Apple silicon" in readme and "Windows" in readme
    assert "Intel Macs are not\nsupported" in readme or "Intel Macs are not supported" in readme
