"""A class split across a cluster (issue 27): `grade-class --shard I/N` into N folders, then
`class-files --merge` (both run by deploy/slurm's scripts, as a job array would), gives what
one run gives, row for row — the gradebook, every
results.json and report.txt, the Canvas and Moodle files and the class report — grading times
aside. The class is test_class_layouts' (Canvas's flat files, Moodle's folders, a zip and a
folder whose names share a folder, files that are no submission), graded on ex02 only (about a
second a student); four class runs in all, ~1-2 min here.

The split and the scheduler's index are checked without grading."""
import csv
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest
import yaml
from conftest import KIT_ROOT, run_cli
from test_class_layouts import build_class

from rnnkit.tools import shards
from rnnkit.tools.classroom import discover, folder_name

COUNT = 3


# -- the split and the index, without grading ---------------------------------------------------
def test_the_split_is_by_student_stable_and_keeps_colliding_names_together(tmp_path):
    build_class(tmp_path / "class")
    students, unrecognised = discover(tmp_path / "class")
    chosen = [shards.select(students, unrecognised, i, COUNT, folder_name)[0]
              for i in range(COUNT)]
    assert sorted(s.key for part in chosen for s in part) == sorted(s.key for s in students)
    assert sum(1 for part in chosen if part) >= 2, "this class must really be split"
    # Zoë.zip, the folder Zoé and the NFD Zoé.zip: one folder name casefolded, one shard
    by_name = {}
    for student in students:
        by_name.setdefault(folder_name(student.name).casefold(), set()).add(
            shards.shard_of(folder_name(student.name), COUNT))
    assert all(len(found) == 1 for found in by_name.values())
    # stable: the same in another process with another hash seed (not Python's salted hash())
    names = [folder_name(s.name) for s in students]
    script = ("import json, sys\nfrom rnnkit.tools.shards import shard_of\n"
              "print(json.dumps([shard_of(n, 7) for n in json.loads(sys.argv[1])]))")
    elsewhere = subprocess.run([sys.executable, "-c", script, json.dumps(names)], cwd=KIT_ROOT,
                               env={**os.environ, "PYTHONHASHSEED": "12345"},
                               capture_output=True, text=True, check=True)
    assert json.loads(elsewhere.stdout) == [shards.shard_of(n, 7) for n in names]
    assert shards.shard_of("ADA", 7) == shards.shard_of("ada", 7)       # as folders collide
    split = lambda order, i: shards.select(order, unrecognised, i, COUNT, folder_name)
    markers = [split(students[::-1], i)[2] for i in range(COUNT)]
    assert len({m["class"] for m in markers}) == 1                       # listing order aside
    assert markers[0]["class"] == split(students, 0)[2]["class"]
    assert split(students, 1)[1] == [] and split(students, 0)[1] == unrecognised  # shard 0 lists



@pytest.mark.parametrize("spec, environ, expected", [
    ("1/3", {}, (1, 3)),
    ("auto/3", {"JOB_COMPLETION_INDEX": "2"}, (2, 3)),
    ("auto/3", {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "3"}, (0, 3)),
    ("auto/4", {"JOB_COMPLETION_INDEX": "3", "SLURM_ARRAY_TASK_ID": "9"}, (3, 4)),
])
def test_the_index_is_given_or_taken_from_the_scheduler(spec, environ, expected):
    assert shards.parse(spec, environ) == expected


@pytest.mark.parametrize("spec, environ, words", [
    ("3/3", {}, "the index must be 0 to 2, received 3"),
    ("1", {}, "expected I/N"),
    ("auto/3", {}, "neither is set here"),
    ("auto/3", {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3"}, "--array=0-2"),
    ("auto/3", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, "has 4 tasks"),
])
def test_a_wrong_index_is_one_line_saying_what_to_do(spec, environ, words):
    with pytest.raises(shards.ShardProblem, match=words.replace("(", r"\(").replace("-", r"\-")):
        shards.parse(spec, environ)


# -- three shards and a merge against one run ------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharded")
    build_class(root / "class")
    one = run_cli("grade-class", root / "class", "--out", root / "one", "--exercises", "ex02",
                  "--jobs", "2")
    assert one.returncode == 0, one.stderr[-3000:]
    # the shards as deploy/slurm's job array runs them (an array of COUNT tasks, 4 CPUs each),
    # here with this interpreter, on ex02 only (the script's extra arguments)
    outs = []
    for index in range(COUNT):
        completed = sbatch("grade-class.sbatch", root / "class", root / "graded",
                           "--exercises", "ex02", SLURM_ARRAY_TASK_ID=str(index),
                           SLURM_ARRAY_TASK_COUNT=str(COUNT), SLURM_CPUS_PER_TASK="4")
        assert completed.returncode == 0, completed.stderr[-3000:]
        assert f"shard {index}/{COUNT}:" in completed.stdout
        outs.append(root / "graded" / f"shard-{index}")
    merged = sbatch("merge.sbatch", root / "graded")
    assert merged.returncode == 0, merged.stderr[-3000:]
    (root / "graded" / "merged").rename(root / "merged")
    return root, outs, merged


def sbatch(script: str, *args, **slurm):
    """A deploy/slurm script run as a Slurm task runs it (bash, the array's variables set)."""
    env = {**os.environ, "RNNKIT_KIT": str(KIT_ROOT), "RNNKIT_PYTHON": sys.executable, **slurm}
    return subprocess.run(["bash", str(KIT_ROOT / "deploy" / "slurm" / script), *map(str, args)],
                          capture_output=True, text=True, timeout=1800, env=env)


def untimed_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [{k: v for k, v in row.items() if k != "graded"} for row in csv.DictReader(handle)]


def untimed_report(text: str) -> str:
    """A report without the times it names (when graded, when the class report was written)."""
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(("Graded: ", "# Class report (")))


def untimed_document(document: dict) -> dict:
    kept = {k: v for k, v in document.items() if k not in ("execution_time", "graded", "output")}
    return {**kept, "report": untimed_report(document["output"])}


def test_merged_shards_equal_one_run_row_for_row(runs):
    root, outs, _ = runs
    one, merged = root / "one", root / "merged"
    rows = untimed_rows(one / "gradebook.csv")
    assert untimed_rows(merged / "gradebook.csv") == rows
    assert len(rows) >= 10 and any(not row["folder"] for row in rows)   # unrecognised rows too
    graded = [len(untimed_rows(out / "gradebook.csv")) for out in outs]
    assert sum(1 for n in graded if n) >= 2, graded                     # really split
    folders = sorted(p.name for p in (one / "students").iterdir())
    assert sorted(p.name for p in (merged / "students").iterdir()) == folders
    assert {"Zoë", "Zoé", "Zoé-2"} <= set(folders)
    for folder in folders:
        documents = [json.loads((out / "students" / folder / "results.json").read_text())
                     for out in (one, merged)]
        assert untimed_document(documents[1]) == untimed_document(documents[0]), folder
        reports = [(out / "students" / folder / "report.txt").read_text() for out in (one, merged)]
        assert untimed_report(reports[1]) == untimed_report(reports[0]), folder


def test_the_lms_files_and_the_class_report_equal_one_runs(runs):
    root, _, _ = runs
    one, merged = root / "one", root / "merged"
    for name in ("canvas-grades.csv", "class-report.md", "lms-not-imported.txt"):
        if (one / name).exists() or (merged / name).exists():
            texts = [untimed_report((out / name).read_text()) for out in (merged, one)]
            assert texts[0] == texts[1], name
    moodle = [list(csv.reader(open(out / "moodle-grades.csv", newline="", encoding="utf-8")))
              for out in (one, merged)]
    when = moodle[0][0].index("Last modified (grade)")                  # the time of writing
    untimed = [[r[:when] + r[when + 1:] for r in rows] for rows in moodle]
    assert untimed[1] == untimed[0]
    zips = []
    for out in (one, merged):
        with zipfile.ZipFile(out / "moodle-feedback.zip") as bundle:
            zips.append({n: untimed_report(bundle.read(n).decode()) for n in bundle.namelist()})
    assert zips[1] == zips[0] and zips[0]
    assert (merged / "class-report.png").stat().st_size > 0


def test_a_merge_refuses_a_missing_shard_or_another_split(runs, tmp_path):
    root, outs, _ = runs
    missing = run_cli("class-files", "--merge", outs[0], outs[2], "--out", tmp_path / "m1")
    assert missing.returncode == 2 and "shard(s) 1/3 missing" in missing.stderr
    twice = run_cli("class-files", "--merge", outs[0], outs[0], outs[1], "--out", tmp_path / "m2")
    assert twice.returncode == 2 and "shard 0/3 is given twice" in twice.stderr
    other = tmp_path / "other"
    other.mkdir()
    marker = json.loads((outs[1] / "shard.json").read_text())
    (other / "shard.json").write_text(json.dumps({**marker, "class": "0" * 16}))
    mixed = run_cli("class-files", "--merge", outs[0], other, outs[2], "--out", tmp_path / "m3")
    assert mixed.returncode == 2 and "not of one class folder split one way" in mixed.stderr
    plain = run_cli("class-files", "--merge", root / "one", "--out", tmp_path / "m4")
    assert plain.returncode == 2 and "is no shard's --out" in plain.stderr
    assert not any((tmp_path / name / "students").exists() for name in ("m1", "m2", "m3", "m4"))


# -- the Kubernetes example, read as the Job controller would run it -----------------------------
def test_the_kubernetes_indexed_job_gives_each_pod_one_shard():
    folder = KIT_ROOT / "deploy" / "kubernetes"
    job = yaml.safe_load((folder / "grade-class-job.yaml").read_text())
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    command = " ".join(spec["template"]["spec"]["containers"][0]["args"])
    count = int(re.search(r"--shard auto/(\d+)", command).group(1))
    assert count == spec["completions"], "--shard auto/N must equal the Job's completions"
    assert "shard-$JOB_COMPLETION_INDEX" in command              # each pod its own --out
    indices = [shards.parse(f"auto/{count}", {"JOB_COMPLETION_INDEX": str(i)})[0]
               for i in range(spec["completions"])]              # 0 .. completions - 1
    assert indices == list(range(count))
    merge = yaml.safe_load((folder / "merge-job.yaml").read_text())
    images = {c["image"] for document in (job, merge)
              for c in document["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1
    merge_command = " ".join(merge["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "class-files --merge /course/graded/shard-*" in merge_command


def test_a_shard_folder_takes_no_other_shard_and_a_whole_class_run_unmakes_it(tmp_path):
    """Checked before any grading: another split into a shard's --out is refused; a run of
    the whole class there makes it a shard no more (a merge would otherwise take it)."""
    out = tmp_path / "shard-1"
    out.mkdir()
    shards.write_marker(out, {"shard": 1, "count": 3, "class": "c", "students": 9,
                              "unrecognised": []}, 3)
    with pytest.raises(shards.ShardProblem, match="holds shard 1/3 of a class; this run is "
                                                  "shard 1/4"):
        shards.earlier_split(out, {"shard": 1, "count": 4, "class": "c"})
    assert shards.earlier_split(out, {"shard": 1, "count": 3, "class": "c"}) is None
    assert "it is a shard no more" in shards.earlier_split(out, None)
    assert not (out / "shard.json").exists()
