"""`python -m rnnkit update KIT ...`: bring started student kits to this kit's version, in place.

Run it from the new kit: the instructor's (which writes the student kit `release --out` would
write) or a newly released student kit, unpacked anywhere. In each KIT:

- everything but the students' `exercises/` and `notebooks/` is refreshed: the files of the
  new kit written, those of the old one that the new one no longer has removed; a file the
  student had changed is backed up first;
- in `exercises/` and `notebooks/`, what changed between the old kit's release (kept in the
  kit, `.rnnkit/base/`) and the new one is applied where the student did not change the same
  lines (a three-way merge, line by line; a notebook cell by cell, then line by line): a
  fixed docstring, a corrected line of given code, a new cell. A change the student's own
  lines overlap is not applied and is listed; the student's lines are never changed (checked
  line by line before anything is written), and a changed file is backed up first
  (`backups/<old>-to-<new>-<time>/`, with NOT-APPLIED.txt);
- the kit's record (`.rnnkit/`) becomes the new one's, so the next update merges from here.

What changed is listed, with the changelog's entries between the two versions.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.tools import release
from rnnkit.tools.release import BASE, CHANGELOG, KIT_RECORD, RECORD, STUDENT_WORK

BACKUPS = "backups"


class UpdateProblem(Exception):
    """The kit cannot be updated; the message is the one line to print."""


# -- the new kit ----------------------------------------------------------------------------------
def new_kit(root: Path = KIT_ROOT) -> dict[str, bytes]:
    """{relative path: bytes} of the kit to update to: generated in the instructor's kit, else
    read from this released kit as released (its exercises and notebooks from its record's
    base, since its own may have been worked in), checked against its record."""
    if (root / "solutions" / "__init__.py").is_file():
        try:
            return release.student_kit_contents(with_solutions=False, root=root)
        except release.ReleaseError as error:
            raise UpdateProblem(str(error)) from None
    record = read_record(root)
    if record is None:
        raise UpdateProblem(f"{root} is neither the instructor's kit nor a released kit "
                            f"({KIT_RECORD} is missing): run update from the new kit")
    files = {}
    for name, digest in record["files"].items():
        path = root / BASE / name if name.startswith(STUDENT_WORK) else root / name
        try:
            data = path.read_bytes()
        except OSError:
            raise UpdateProblem(f"{path} is missing: unpack the new kit again") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise UpdateProblem(f"{path} is not as released: unpack the new kit again")
        files[name] = data
    files.update({path.relative_to(root).as_posix(): path.read_bytes()
                  for path in (root / RECORD).rglob("*") if path.is_file()})
    return files


def read_record(kit: Path) -> dict | None:
    try:
        record = json.loads((Path(kit) / KIT_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("files"), dict) else None


# -- three-way merges -----------------------------------------------------------------------------
@dataclass
class Merged:
    text: str
    applied: list = field(default_factory=list)      # one line per change applied
    refused: list = field(default_factory=list)      # one line per change not applied
    # changes to a stub's own lines where the student's code has replaced the stub (a stub's
    # message quotes its docstring): nothing to apply, and nothing lost
    replaced_stubs: list = field(default_factory=list)


def _stub_lines_only(lines: list[str]) -> bool:
    """Whether every line is a stub's own (its comment, its raise) or blank."""
    from rnnkit.grader.stubs import STUB_COMMENT, is_stub_raise

    return all(not line.strip() or line.strip() == STUB_COMMENT or is_stub_raise(line)
               for line in lines)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _described(lines: list[str]) -> str:
    shown = next((line.strip() for line in lines if line.strip()), "(blank lines)")
    return shown if len(shown) <= 70 else shown[:67] + "..."


def merge_text(base: str, theirs: str, new: str, where: str = "") -> Merged:
    """`theirs` with the changes from `base` to `new` that touch none of the lines the student
    changed from `base` (an insertion beside a changed line counts as touching it)."""
    b, t, n = _lines(base), _lines(theirs), _lines(new)
    mine = difflib.SequenceMatcher(None, b, t, autojunk=False).get_opcodes()
    changed = [(i1, i2) for tag, i1, i2, _, _ in mine if tag != "equal"]
    position = {i1 + k: j1 + k for tag, i1, i2, j1, _ in mine if tag == "equal"
                for k in range(i2 - i1)}
    edits, merged = [], Merged(theirs)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, b, n, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        span = _span(i1, i2, changed, position, len(b), len(t))
        label = (f"{where}line {i1 + 1}" + (f"-{i2}" if i2 > i1 + 1 else "")
                 + f" ({_described(n[j1:j2] or b[i1:i2])})")
        if span is None and _stub_lines_only(b[i1:i2] + n[j1:j2]):
            merged.replaced_stubs.append(f"{label}: a stub you replaced with your code")
        elif span is None:
            merged.refused.append(f"{label}: you changed the lines it changes")
        else:
            edits.append((span, n[j1:j2]))
            merged.applied.append(label)
    out = list(t)
    for (start, end), lines in sorted(edits, key=lambda edit: edit[0], reverse=True):
        out[start:end] = lines
    merged.text = "".join(out)
    return merged


def _span(i1, i2, changed, position, base_length, theirs_length):
    """Where base lines [i1, i2) are in the student's text, or None when the student changed
    any of them (or, for an insertion, the lines around it)."""
    for m1, m2 in changed:
        if i1 < i2 and m1 < m2 and i1 < m2 and m1 < i2:
            return None
        if i1 == i2 and m1 <= i1 <= m2:
            return None
        if m1 == m2 and i1 < m1 < i2:
            return None
    if i1 < i2:
        start, end = position.get(i1), position.get(i2 - 1)
        if start is None or end is None or end - start != i2 - 1 - i1:
            return None
        return start, end + 1
    if i1 in position:
        return position[i1], position[i1]
    if i1 - 1 in position:
        return position[i1 - 1] + 1, position[i1 - 1] + 1
    return (0, 0) if i1 == 0 else (theirs_length, theirs_length) if i1 == base_length else None


def keeps_every_line(base: str, theirs: str, merged: str) -> bool:
    """Whether every line the student wrote or changed (in `theirs`, not in `base`) is in
    `merged`, unchanged and in order."""
    b, t, m = _lines(base), _lines(theirs), _lines(merged)
    own = [j for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, b, t, autojunk=False)
           .get_opcodes() if tag != "equal" for j in range(j1, j2)]
    kept = {j1 + k for tag, j1, j2, _, _ in difflib.SequenceMatcher(None, t, m, autojunk=False)
            .get_opcodes() if tag == "equal" for k in range(j2 - j1)}
    return all(j in kept for j in own)


def merge_module(base: str, theirs: str, new: str) -> Merged:
    merged = merge_text(base, theirs, new)
    if not keeps_every_line(base, theirs, merged.text) or (_parses(theirs) and
                                                           not _parses(merged.text)):
        return Merged(theirs, [], merged.applied + merged.refused, merged.replaced_stubs)
    return merged


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
        return True
    except (SyntaxError, ValueError):
        return False


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def merge_notebook(base: bytes, theirs: bytes, new: bytes) -> tuple[bytes, Merged]:
    """The student's notebook with the changes from the `base` notebook to the `new` one, cell
    by cell: a cell the student left as released becomes the new one, a cell both changed is
    merged line by line, a new cell is inserted after the cell it follows."""
    try:
        B, T, N = (json.loads(data.decode("utf-8")) for data in (base, theirs, new))
        bc, tc, nc = B["cells"], T["cells"], N["cells"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return theirs, Merged("", [], ["the notebook could not be read as a notebook"])
    pairs, inserted = _pair_cells(bc, nc)
    ids = [c.get("id") for c in bc]
    in_theirs = {ids.index(c.get("id")): t for t, c in enumerate(tc)
                 if c.get("id") in ids and c.get("id") is not None}
    merged = Merged("")
    if len(in_theirs) < len(bc) // 2:
        merged.refused.append("its cells could not be matched with the kit's (their ids "
                              "changed): nothing applied")
        return theirs, merged
    cells = [dict(c) for c in tc]
    dropped = set()
    for bi, ni in sorted(pairs.items()):
        where = f"cell {bi + 1}"
        if ni is not None and _source(bc[bi]) == _source(nc[ni]):
            continue
        if bi not in in_theirs:
            merged.refused.append(f"{where}: you removed it; the new kit changes it")
            continue
        ti = in_theirs[bi]
        mine = _source(tc[ti])
        if ni is None:
            if mine == _source(bc[bi]):
                dropped.add(ti)
                merged.applied.append(f"{where} removed ({_described(_lines(mine))})")
            else:
                merged.refused.append(f"{where}: the new kit removes it; you changed it (kept)")
        elif mine == _source(bc[bi]):
            cells[ti] = _with_source(cells[ti], _source(nc[ni]))
            merged.applied.append(f"{where} ({_described(_lines(_source(nc[ni])))})")
        else:
            within = merge_module(_source(bc[bi]), mine, _source(nc[ni])) \
                if cells[ti].get("cell_type") == "code" else \
                merge_text(_source(bc[bi]), mine, _source(nc[ni]))
            cells[ti] = _with_source(cells[ti], within.text, clear=False)
            merged.applied += [f"{where}, {line}" for line in within.applied]
            merged.refused += [f"{where}, {line}" for line in within.refused]
            merged.replaced_stubs += [f"{where}, {line}" for line in within.replaced_stubs]
    # The kit's cells take the new kit's ids (they are positions: the next update pairs the
    # student's cells with the kit's by them); a cell of the student's own keeps its id,
    # unless a kit cell now has it.
    kit_ids = {}
    for bi, ni in pairs.items():
        if ni is not None and bi in in_theirs and in_theirs[bi] not in dropped:
            kit_ids[in_theirs[bi]] = nc[ni].get("id")
    after = {}
    for bi, new_indices in inserted:
        anchor = max((b for b in in_theirs if b <= bi), default=None)
        after.setdefault(in_theirs[anchor] if anchor is not None else -1, []).extend(new_indices)
    result, own = [], []
    for ni in after.get(-1, []):
        result.append(dict(nc[ni]))
        merged.applied.append(f"new first cell ({_described(_lines(_source(nc[ni])))})")
    for ti, cell in enumerate(cells):
        if ti not in dropped:
            if ti in kit_ids:
                cell["id"] = kit_ids[ti]
            else:
                own.append(len(result))
            result.append(cell)
        for ni in after.get(ti, []):
            result.append(dict(nc[ni]))
            merged.applied.append(f"new cell after cell {ti + 1} "
                                  f"({_described(_lines(_source(nc[ni])))})")
    taken = {cell.get("id") for number, cell in enumerate(result) if number not in own}
    for number in own:
        if result[number].get("id") in taken:
            result[number] = _fresh(result[number], taken)
        taken.add(result[number].get("id"))
    T["cells"] = result
    return (json.dumps(T, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode(), merged


def _pair_cells(base: list, new: list):
    """({base index: new index, or None when the new kit removed the cell}, [(base index the
    new cells follow, or -1; [new indices])]): the alignment, in order, that pairs cells of
    one kind whose texts are most alike (identical, or at least half alike by difflib's
    ratio), so that an inserted or removed cell does not shift the pairs."""
    n, m = len(base), len(new)

    def alike(i, j):
        if base[i].get("cell_type") != new[j].get("cell_type"):
            return 0.0
        a, b = _source(base[i]), _source(new[j])
        if a == b:
            return 2.0
        ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        return ratio if ratio >= 0.5 else 0.0

    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            score = alike(i, j)
            best[i][j] = max(best[i + 1][j], best[i][j + 1],
                             score + best[i + 1][j + 1] if score else 0.0)
    pairs, inserted, i, j, last = {}, [], 0, 0, -1
    while i < n and j < m:
        score = alike(i, j)
        if score and best[i][j] == score + best[i + 1][j + 1]:
            pairs[i], last, i, j = j, i, i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            pairs[i], i = None, i + 1
        else:
            inserted.append((last, [j]))
            j += 1
    pairs.update({k: None for k in range(i, n)})
    inserted += [(last, [k]) for k in range(j, m)]
    return pairs, inserted


def _with_source(cell: dict, text: str, clear: bool = True) -> dict:
    cell = {**cell, "source": _lines(text)}
    if clear and cell.get("cell_type") == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _fresh(cell: dict, taken: set) -> dict:
    cell = dict(cell)
    identity, number = cell.get("id") or "rnnkit", 2
    while identity in taken:
        identity, number = f"{cell.get('id') or 'rnnkit'}-{number}", number + 1
    taken.add(identity)
    cell["id"] = identity
    return cell


# -- one kit ------------------------------------------------------------------------------------------
@dataclass
class Summary:
    kit: Path
    old: str
    new: str
    refreshed: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    merged: dict = field(default_factory=dict)        # student file -> Merged
    backups: Path | None = None

    def lines(self) -> list[str]:
        said = [f"{self.kit}: rnnkit {self.old} -> {self.new}"]
        said.append(f"  kit files refreshed: {len(self.refreshed)}"
                    + (f" ({', '.join(self.refreshed[:6])}{' ...' if len(self.refreshed) > 6 else ''})"
                       if self.refreshed else ""))
        if self.removed:
            said.append(f"  kit files removed: {', '.join(self.removed)}")
        for name, merged in self.merged.items():
            if merged.applied:
                said.append(f"  {name}: applied {len(merged.applied)} change(s): "
                            + "; ".join(merged.applied[:4])
                            + (" ..." if len(merged.applied) > 4 else ""))
            if merged.replaced_stubs:
                said.append(f"  {name}: {len(merged.replaced_stubs)} change(s) to stubs you "
                            "have replaced with your code: nothing to do")
            for line in merged.refused:
                said.append(f"  {name}: NOT applied: {line}")
        if self.backups:
            said.append(f"  your files as they were: {self.backups}")
        if not any(m.applied or m.refused for m in self.merged.values()):
            said.append("  exercises/ and notebooks/: nothing to apply")
        return said


def update_kit(kit: Path, new: dict[str, bytes], *, dry_run: bool = False) -> Summary:
    kit = Path(kit).resolve()
    if not (kit / "rnnkit" / "__init__.py").is_file():
        raise UpdateProblem(f"{kit} is not an rnnkit kit (no rnnkit/ in it)")
    if (kit / "solutions" / "__init__.py").is_file() and not (kit / KIT_RECORD).is_file():
        raise UpdateProblem(f"{kit} is an instructor's kit: update it with git, not update")
    record = read_record(kit) or {"version": "unknown", "files": {}}
    new_record = json.loads(new[KIT_RECORD])
    summary = Summary(kit, record["version"], new_record["version"])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backups = kit / BACKUPS / f"{summary.old}-to-{summary.new}-{stamp}"
    writes: dict[str, bytes] = {}
    saved: dict[str, bytes] = {}      # relative path -> the student's bytes, backed up

    def local_change(name: str) -> bool:
        digest = record["files"].get(name)
        path = kit / name
        return path.is_file() and (digest is None or
                                   hashlib.sha256(path.read_bytes()).hexdigest() != digest)

    for name, data in sorted(new.items()):
        if name.startswith(STUDENT_WORK) or name.startswith(RECORD + "/"):
            continue
        path = kit / name
        if not path.is_file() or path.read_bytes() != data:
            if local_change(name) and path.is_file():
                saved[name] = path.read_bytes()
            writes[name] = data
            summary.refreshed.append(name)
    gone = [name for name in record["files"] if name not in new_record["files"]
            and not name.startswith(STUDENT_WORK) and (kit / name).is_file()]
    for name in gone:
        if local_change(name):
            saved[name] = (kit / name).read_bytes()
        summary.removed.append(name)
    for name in sorted(new_record["files"]):
        if not name.startswith(STUDENT_WORK):
            continue
        result = _student_file(kit, name, new[name])
        if result is None:
            continue
        data, merged = result
        summary.merged[name] = merged
        if data is not None:
            if (kit / name).is_file():
                saved[name] = (kit / name).read_bytes()
            writes[name] = data
    if dry_run:
        return summary
    if saved or any(m.refused for m in summary.merged.values()):
        summary.backups = backups
        for name, data in saved.items():
            (backups / name).parent.mkdir(parents=True, exist_ok=True)
            (backups / name).write_bytes(data)
        refused = [f"{name}: {line}" for name, m in summary.merged.items() for line in m.refused]
        backups.mkdir(parents=True, exist_ok=True)
        (backups / "NOT-APPLIED.txt").write_text(
            "\n".join(refused or ["(every change was applied)"]) + "\n", encoding="utf-8")
    for name, data in writes.items():
        (kit / name).parent.mkdir(parents=True, exist_ok=True)
        (kit / name).write_bytes(data)
    for name in gone:
        (kit / name).unlink()
    for path in sorted((kit / BASE).rglob("*"), reverse=True) if (kit / BASE).is_dir() else []:
        path.unlink() if path.is_file() else path.rmdir()
    for name, data in new.items():
        if name.startswith(RECORD + "/"):
            (kit / name).parent.mkdir(parents=True, exist_ok=True)
            (kit / name).write_bytes(data)
    return summary


def _student_file(kit: Path, name: str, new: bytes):
    """(bytes to write or None, Merged) for one file of exercises/ or notebooks/; None when
    there is nothing to say."""
    path, base_path = kit / name, kit / BASE / name
    if not path.is_file():
        return new, Merged("", ["added (it was not in your kit)"])
    theirs = path.read_bytes()
    if theirs == new:
        return None
    if not base_path.is_file():
        return None, Merged("", [], ["your kit does not record how it was released: compare it "
                                     "with the new kit's by hand"])
    base = base_path.read_bytes()
    if base == new:
        return None                      # the kit did not change it; the student did
    if theirs == base:
        return new, Merged("", ["the whole file (you had not changed it)"])
    if name.endswith(".ipynb"):
        data, merged = merge_notebook(base, theirs, new)
        return (data if data != theirs else None), merged
    try:
        texts = [data.decode("utf-8") for data in (base, theirs, new)]
    except UnicodeDecodeError:
        return None, Merged("", [], ["not text: nothing applied"])
    merged = merge_module(*texts) if name.endswith(".py") else merge_text(*texts)
    data = merged.text.encode("utf-8")
    return (data if data != theirs else None), merged


def changes_between(new: dict[str, bytes], old_version: str) -> str:
    """The changelog's sections newer than `old_version` (all when it is unknown)."""
    text = new.get(CHANGELOG, b"").decode("utf-8", "replace")
    sections = re.split(r"(?m)^(?=## )", text)
    kept = []
    for section in sections[1:]:
        version = section.split()[1].strip("[]") if len(section.split()) > 1 else ""
        if version == old_version:
            break
        kept.append(section.strip())
    return "\n\n".join(kept)


def main(kits: list[Path], *, dry_run: bool = False, echo=print) -> int:
    new = new_kit()
    for kit in kits:
        summary = update_kit(kit, new, dry_run=dry_run)
        for line in summary.lines():
            echo(line)
        notes = changes_between(new, summary.old)
        if notes:
            echo("  what changed (CHANGELOG.md):")
            echo("\n".join("    " + line for line in notes.splitlines()))
        if dry_run:
            echo("  (--dry-run: nothing was written)")
    return 0
