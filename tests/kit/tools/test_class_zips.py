"""grade-class survives whatever zips a class hands in (issue 7, 15): each broken one costs
only its own row, with the reason in the gradebook, and no student's name can take the place
of the gradebook. Nothing here reaches a student process (every zip fails to unpack, or holds
no exercise), so it runs in seconds."""
import csv
import struct

import pytest
from conftest import run_cli, zip_bytes


def _patch_local_and_central(data: bytes, offset_in_header: int, fmt: str, value) -> bytes:
    """Rewrite one field of every local (PK\\3\\4) and central (PK\\1\\2) header."""
    data = bytearray(data)
    for signature, field in ((b"PK\x03\x04", offset_in_header), (b"PK\x01\x02", offset_in_header + 2)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            struct.pack_into(fmt, data, start + field, value)
            start += 4
    return bytes(data)


EXERCISE = b"def f():\n    return 1\n" * 50


def _encrypted() -> bytes:       # general-purpose flag bit 0: "encrypted"
    return _patch_local_and_central(zip_bytes([("ex02_bptt.py", EXERCISE)]), 6, "<H", 1)


def _deflate64() -> bytes:       # compression method 9, which Python cannot read
    return _patch_local_and_central(zip_bytes([("ex02_bptt.py", EXERCISE)]), 8, "<H", 9)


def _corrupt_deflate() -> bytes:  # valid headers, garbage compressed data
    data = bytearray(zip_bytes([("ex02_bptt.py", EXERCISE)]))
    start = data.find(b"PK\x03\x04") + 30 + len("ex02_bptt.py")
    data[start:start + 16] = b"\xff" * 16
    return bytes(data)


ZIPS = {
    "encrypted": (_encrypted, "unencrypted"),
    "deflate64": (_deflate64, "compression"),
    "corrupt": (_corrupt_deflate, "could not be unpacked"),
    "clash": (lambda: zip_bytes([("a", b"x"), ("a/b.py", b"y")]), "could not be unpacked"),
    "long_name": (lambda: zip_bytes([("x" * 300 + ".py", b"y")]), "could not be unpacked"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("zips")
    submissions, out = root / "submissions", root / "out"
    submissions.mkdir()
    for name, (make, _) in ZIPS.items():
        (submissions / f"{name}.zip").write_bytes(make())
    (submissions / "gradebook.csv.zip").write_bytes(zip_bytes([("notes.txt", b"nothing")]))
    (submissions / "Bob Smith.zip").write_bytes(zip_bytes([("notes.txt", b"nothing")]))
    (submissions / "Bob_Smith").mkdir()                        # the same folder name, once made safe
    completed = run_cli("grade-class", submissions, "--out", out, "--exercises", "ex02",
                        "--jobs", "2", timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    with open(out / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return out, rows


@pytest.mark.parametrize("name", sorted(ZIPS))
def test_a_broken_zip_costs_only_its_row(graded, name):
    out, rows = graded
    assert rows[name]["total"] == "0", rows[name]
    results = (out / "students" / name / "results.json").read_text()
    assert ZIPS[name][1] in results and ZIPS[name][1] in rows[name]["notes"], rows[name]
    # the row names what was wrong with the zip, not "grading failed" for each exercise
    assert "grading failed" not in rows[name]["notes"], rows[name]
    report = (out / "students" / name / "report.txt").read_text(encoding="utf-8")
    assert report.startswith("Not graded: ") and ZIPS[name][1] in report.splitlines()[0]
    assert "not graded" in report, report


def test_no_name_replaces_the_gradebook_and_colliding_names_both_get_rows(graded):
    out, rows = graded
    assert (out / "gradebook.csv").is_file()
    assert {"gradebook.csv", "Bob Smith", "Bob_Smith"} <= set(rows), sorted(rows)
    assert {rows["Bob Smith"]["folder"], rows["Bob_Smith"]["folder"]} == {"Bob_Smith",
                                                                         "Bob_Smith-2"}
    assert (out / "students" / "gradebook.csv" / "results.json").is_file()
    assert len(rows) == len(ZIPS) + 3
