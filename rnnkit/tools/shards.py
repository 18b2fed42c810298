"""A class split across a cluster: `grade-class SUBMISSIONS --shard I/N --out OUT_I` grades
shard I of N (0 <= I < N) into its own --out, and `class-files --merge OUT_0 ... --out MERGED`
builds one record from the shards: the gradebook, the LMS files and the class report, as one
`grade-class` run of the whole class would have written them (grading times aside).

The split is by student, stable and independent of listing order or machine: a student's
shard is the SHA-256 of the casefolded folder name grade-class gives them
(`classroom.folder_name`), modulo N. Names that would share a folder (`Zoë.zip` and a folder
`Zoë`) are therefore in the same shard, where they are told apart (`Zoë-2`) exactly as in one
run. Entries of the class folder that are no submission are listed by every shard's
`shard.json` and written once, by the merge (and by shard 0's own gradebook).

Each shard writes `OUT_I/shard.json`: its index, N, and a digest of the whole class folder's
listing (every student's key and every unrecognised entry), so a merge can refuse shards of
different classes or splits, and say which shard is missing.

`--shard auto/N` takes I from the scheduler: `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job:
0 to completions - 1), else `SLURM_ARRAY_TASK_ID` (a Slurm job array submitted as
`--array=0-(N-1)`; `SLURM_ARRAY_TASK_COUNT`, when set, must be N).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from rnnkit.tools import classbook

MARKER = classbook.SHARD


class ShardProblem(Exception):
    """A shard cannot be chosen or merged as asked; the message is the one line to print."""


SCHEDULERS = (("JOB_COMPLETION_INDEX", "a Kubernetes Indexed Job"),
              ("SLURM_ARRAY_TASK_ID", "a Slurm job array"))


def parse(spec: str, environ=None) -> tuple[int, int]:
    """(index, count) from "I/N" or "auto/N" (the index from the scheduler's environment)."""
    environ = os.environ if environ is None else environ
    index, slash, count = str(spec).partition("/")
    if not slash or not count.strip().isdigit() or int(count) < 1:
        raise ShardProblem(f"--shard {spec}: expected I/N (0 <= I < N, e.g. 0/3) or auto/N")
    count = int(count)
    if index.strip() == "auto":
        found = [(name, what) for name, what in SCHEDULERS if environ.get(name, "").strip()]
        if not found:
            raise ShardProblem(
                f"--shard auto/{count} takes the index from JOB_COMPLETION_INDEX (a Kubernetes "
                "Indexed Job) or SLURM_ARRAY_TASK_ID (a Slurm job array); neither is set here: "
                f"give it, e.g. --shard 0/{count}")
        name, what = found[0]
        index = environ[name].strip()
        tasks = environ.get("SLURM_ARRAY_TASK_COUNT", "").strip()
        if name == "SLURM_ARRAY_TASK_ID" and tasks.isdigit() and int(tasks) != count:
            raise ShardProblem(f"--shard auto/{count}, but the Slurm job array has {tasks} "
                                    f"tasks: submit it with --array=0-{count - 1}")
        where = f" ({name}={index}, {what})"
    else:
        where = ""
    if not index.strip().isdigit() or not int(index) < count:
        hint = f"; a Slurm job array for {count} shards is --array=0-{count - 1}" if where else ""
        raise ShardProblem(f"--shard {spec}: the index must be 0 to {count - 1}"
                                f"{where or f', received {index}'}{hint}")
    return int(index), count


def shard_of(folder: str, count: int) -> int:
    """The shard of a student by the folder name grade-class gives them
    (`classroom.folder_name`): stable across machines, runs and listing orders."""
    digest = hashlib.sha256(folder.casefold().encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def class_digest(students, unrecognised) -> str:
    """What the whole class folder holds, as a short digest (shards of one class agree)."""
    listing = sorted(s.key for s in students) + [f"unrecognised:{n}" for n in unrecognised]
    return hashlib.sha256("\n".join(listing).encode()).hexdigest()[:16]


def select(students, unrecognised, index: int, count: int, folder) -> tuple[list, list, dict]:
    """(this shard's students, the unrecognised entries its own gradebook lists, the marker);
    `folder(name)`: the folder name grade-class gives a student's name."""
    mine = [s for s in students if shard_of(folder(s.name), count) == index]
    marker = {"shard": index, "count": count, "class": class_digest(students, unrecognised),
              "students": len(students), "unrecognised": list(unrecognised)}
    return mine, (list(unrecognised) if index == 0 else []), marker


def earlier_split(out: Path, marker: dict | None) -> str | None:
    """What stands against grading into `out` as `marker` says (None: the whole class): the
    one line of a problem when `out` holds another shard or split; a whole-class run makes
    `out` a shard no more (its marker is removed, and this says so)."""
    path = Path(out) / MARKER
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    held = f"shard {earlier.get('shard')}/{earlier.get('count')}"
    if marker is None:
        path.unlink()
        return f"note: {out} held {held}; graded as a whole class now, it is a shard no more"
    if (earlier.get("shard"), earlier.get("count")) != (marker["shard"], marker["count"]):
        raise ShardProblem(f"{out} holds {held} of a class; this run is shard "
                           f"{marker['shard']}/{marker['count']}: give each shard its own --out, "
                           "or --fresh to start that folder over")
    return None


def write_marker(out: Path, marker: dict, graded: int) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / MARKER).write_text(json.dumps({**marker, "graded": graded}, indent=1) + "\n",
                                    encoding="utf-8")


def read_markers(shard_outs) -> list[dict]:
    """Every shard's marker, checked: one class, one split, each shard once and none missing."""
    markers = []
    for out in shard_outs:
        path = Path(out) / MARKER
        try:
            markers.append({**json.loads(path.read_text(encoding="utf-8")), "out": Path(out)})
        except (OSError, ValueError):
            raise ShardProblem(f"{out} is no shard's --out (no readable {MARKER}: "
                                    "grade-class --shard I/N writes it)") from None
    splits = {(m["class"], m["count"]) for m in markers}
    if len(splits) > 1:
        raise ShardProblem("these shards are not of one class folder split one way: " + "; ".join(
            f"{m['out']}: shard {m['shard']}/{m['count']} of class {m['class']}" for m in markers))
    count = markers[0]["count"]
    seen: dict[int, Path] = {}
    for m in markers:
        if m["shard"] in seen:
            raise ShardProblem(f"shard {m['shard']}/{count} is given twice: {seen[m['shard']]} "
                                    f"and {m['out']}")
        seen[m["shard"]] = m["out"]
    missing = sorted(set(range(count)) - set(seen))
    if missing:
        raise ShardProblem(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing: "
                                f"the merged gradebook would lack their students (give every "
                                f"shard's --out)")
    return sorted(markers, key=lambda m: m["shard"])


def merge(shard_outs, out: Path, *, keep_mixed: bool = False, echo=print) -> list[str]:
    """Every shard's students merged into `out` (a new folder, or a record to merge into as
    grade-class would: a student already there keeps the exercises the shard did not grade).
    Returns the class folder's unrecognised entries (for the gradebook's rows). The LMS
    settings the shards kept are taken when `out` has none and they agree."""
    from rnnkit import __version__
    from rnnkit.grader import secret as secrets
    from rnnkit.tools import lms

    markers = read_markers(shard_outs)
    incoming = {m["shard"]: classbook.load(m["out"]) for m in markers}
    held = secrets.load()
    mixed = [f"shard {i}: {line}" for i, kept in incoming.items()
             for line in classbook.mixed(kept, {}, __version__, held.id if held else None)]
    if mixed and not keep_mixed:
        raise ShardProblem("the shards hold results made otherwise (" + "; ".join(mixed[:4])
                                + (f"; {len(mixed) - 4} more" if len(mixed) > 4 else "")
                                + "): grade those again, or pass --keep-mixed")
    out.mkdir(parents=True, exist_ok=True)
    settings = {m["shard"]: (m["out"] / lms.SETTINGS) for m in markers}
    texts = {i: p.read_text(encoding="utf-8") for i, p in settings.items() if p.is_file()}
    if not (out / lms.SETTINGS).is_file() and texts:
        if len(set(texts.values())) > 1 or len(texts) < len(markers):
            raise ShardProblem("the shards were graded with different LMS options (their "
                                    f"{lms.SETTINGS} differ): give the options to class-files")
        shutil.copyfile(settings[min(texts)], out / lms.SETTINGS)
    kept = classbook.load(out)
    for index, documents in incoming.items():
        shard = markers[index]["out"]
        folders = classbook.assign_folders(
            [(folder, classbook.key_of(document) or folder) for folder, document in
             documents.items()], kept)
        for (folder, document), into in zip(documents.items(), folders):
            exercises = classbook.exercises_of(document)
            if into in kept:
                document = classbook.merge(kept[into], document, exercises,
                                           document.get("submission") or {})
            where = out / "students" / into
            where.mkdir(parents=True, exist_ok=True)
            classbook.replace(where / "results.json", document)
            log = shard / "students" / folder / "grading.log"
            if log.is_file():
                shutil.copyfile(log, where / "grading.log")
            kept[into] = document
        echo(f"merged shard {index}/{markers[index]['count']} ({shard}): {len(documents)} "
             "students")
    return list(markers[0]["unrecognised"])
