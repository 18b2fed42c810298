"""Files the LMSs import as they are, written by grade-class beside gradebook.csv.

- Canvas: `canvas-grades.csv`, the gradebook import (Grades > Import). Canvas's importer
  (canvas-lms app/models/gradebook_importer.rb) reads a header whose first cell holds
  "Student" and second "ID", then "SIS User ID" and "SIS Login ID", then "Section" as the last
  student column; every later column is an assignment (matched by title, or by "Title (id)";
  a new title makes a new assignment); a row whose first cell holds "Points Possible" sets the
  points of new assignments; a student is found by the ID column (Canvas's user id: the number
  in the names of Canvas's "download submissions"), then by SIS ids, then by name. One total
  column (default) or one per exercise. A bonus exercise's points (course.is_bonus) are never
  in the total: a column of their own ("<assignment> bonus", or the exercise's column).
- Moodle: `moodle-grades.csv`, the assignment's grading worksheet (Grading action > Upload
  grading worksheet). Moodle's importer (mod/assign/feedback/offline/importgradeslib.php)
  needs the columns "Identifier" ("Participant N", N the participant number that Moodle's
  "download all submissions" puts in its names: not the user id), "Grade" and "Last modified
  (grade)" (a row whose grade Moodle changed later is skipped unless told to ignore that);
  "Feedback comments" fills the comment. A grade above the assignment's maximum grade is
  skipped: set that maximum to the kit's points, or give --out-of. The worksheet has one
  grade: a bonus exercise's points are not in it, and its feedback comment states them.
- Moodle: `moodle-feedback.zip`, the feedback files (Grading action > Upload multiple
  feedback files in a zip): one folder per student, `Full Name_N_assignfeedback_file/`,
  holding report.txt (mod/assign/feedback/file/importziplib.php: the part before the first
  "_" is the name, with "_" written as a space; the second is the participant number).

Where the layout has no id (a folder or zip per student), a roster exported from the LMS
(Canvas's gradebook export, Moodle's grading worksheet, or a CSV with name and id columns)
maps names to ids: a name matches only when it is the same name once letter case, accents'
composition, punctuation, spacing and "Last, First" order are set aside, and exactly one
roster row has it. What does not match is listed, never guessed.

The late policy (off by default) takes a share of the points per day late, up to a cap:
the days come from the submission time and --due where both are known, else from the LMS's
late mark (Canvas's LATE in the file names), counted as one day.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

SETTINGS = "class-settings.json"
CANVAS_FILE = "canvas-grades.csv"
MOODLE_FILE = "moodle-grades.csv"
MOODLE_FEEDBACK = "moodle-feedback.zip"
NOT_IMPORTED = "lms-not-imported.txt"

# The columns the LMSs' importers read (see the module docstring for where each is defined).
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "Points Possible"
MOODLE_COLUMNS = ("Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)",
                  "Feedback comments")
MOODLE_PARTICIPANT = "Participant "
MOODLE_FEEDBACK_PLUGIN = "assignfeedback_file"


class LmsProblem(ValueError):
    """A setting or a roster cannot be used; the message is the one line to print."""


# -- the class's LMS settings, kept in --out -------------------------------------------------------
@dataclass
class Settings:
    lms: list = field(default_factory=list)     # "canvas", "moodle"; empty: the layouts seen
    roster: str | None = None                   # a CSV exported from the LMS
    canvas_columns: str = "total"               # "total" or "exercises"
    assignment: str = "rnnkit"                  # the LMS assignment's title
    out_of: float | None = None                 # the LMS grade's maximum (default: the points)
    late_policy: str | None = None              # "10/day:30": 10 % per day, at most 30 %
    due: str | None = None                      # the deadline, ISO 8601 (local time if no offset)

    @classmethod
    def resolve(cls, out: Path, given: dict, use_kept: bool = True) -> "Settings":
        """The settings kept in `out` (unless not `use_kept`) with `given` (the options set on
        this run) on top, checked. LmsProblem when one cannot be used."""
        path = Path(out) / SETTINGS
        kept = {}
        if use_kept and path.is_file():
            try:
                kept = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                raise LmsProblem(f"{path} is not readable JSON: fix or delete it") from None
        known = set(cls.__dataclass_fields__)
        settings = cls(**{k: v for k, v in {**kept, **given}.items() if k in known})
        settings.check()
        return settings

    def save(self, out: Path) -> None:
        """Kept in `out` for the next run (and `class-files`)."""
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / SETTINGS).write_text(json.dumps(asdict(self), indent=1) + "\n",
                                          encoding="utf-8")

    def check(self) -> None:
        for name in self.lms:
            if name not in ("canvas", "moodle"):
                raise LmsProblem(f"--lms {name}: expected canvas or moodle")
        if self.canvas_columns not in ("total", "exercises"):
            raise LmsProblem(f"--canvas-columns {self.canvas_columns}: expected total or exercises")
        if self.out_of is not None and not self.out_of > 0:
            raise LmsProblem(f"--out-of {self.out_of}: expected a number above 0")
        LatePolicy.parse(self.late_policy)
        parse_time(self.due, "--due")
        if self.roster:
            read_roster(Path(self.roster))

    def describe(self) -> str:
        parts = [f"LMS files: {', '.join(self.lms) or 'as the layouts'}"]
        if self.roster:
            parts.append(f"roster {self.roster}")
        if self.late_policy:
            parts.append(f"late policy {LatePolicy.parse(self.late_policy).describe()}"
                         + (f", due {self.due}" if self.due else ""))
        if self.out_of:
            parts.append(f"grades out of {self.out_of:g}")
        return "; ".join(parts)


def parse_time(text: str | None, what: str = "time") -> datetime | None:
    """An aware datetime from ISO 8601 ("2026-12-01T23:59", local time when no offset) or
    from the way Moodle's worksheet writes dates ("Tuesday, 1 December 2026, 11:59 PM")."""
    if not text or not str(text).strip() or str(text).strip() == "-":
        return None
    text = " ".join(str(text).split())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for pattern in ("%A, %d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M", "%d %B %Y, %I:%M %p",
                        "%d %B %Y, %H:%M", "%Y-%m-%d %H:%M"):
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        raise LmsProblem(f"{what} {text!r} is not a date and time this kit reads (ISO 8601, "
                         "e.g. 2026-12-01T23:59, or as Moodle's worksheet writes them)")
    return moment if moment.tzinfo else moment.astimezone()


@dataclass(frozen=True)
class LatePolicy:
    per_day: float          # percent of the points per day late
    cap: float              # at most this percent

    PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*(?:/\s*day)?\s*(?:[:,]\s*(?:max\s*=?\s*|cap\s*=?"
                         r"\s*|at most\s*)?(\d+(?:\.\d+)?)\s*%?)?\s*$")

    @classmethod
    def parse(cls, text: str | None) -> "LatePolicy | None":
        if not text:
            return None
        match = cls.PATTERN.match(str(text))
        if not match:
            raise LmsProblem(f"--late-policy {text!r}: expected PERCENT_PER_DAY[:CAP], e.g. "
                             "10:30 (10 % of the points per day late, at most 30 %)")
        per_day = float(match.group(1))
        cap = float(match.group(2)) if match.group(2) else 100.0
        if not (0 < per_day <= 100 and 0 < cap <= 100):
            raise LmsProblem(f"--late-policy {text!r}: both percentages must be in (0, 100]")
        return cls(per_day, cap)

    def share(self, days: int) -> float:
        """The share of the points taken for `days` days late (0 to 1)."""
        return min(self.cap, self.per_day * max(0, days)) / 100.0

    def describe(self) -> str:
        return f"{self.per_day:g} % per day late, at most {self.cap:g} %"


@dataclass
class Late:
    """How late one submission is, and what the policy takes."""
    days: int
    how: str                # where the days come from
    share: float            # of the points, 0 to 1

    def note(self, points: float, max_points: float) -> str:
        kept = points * (1 - self.share)
        return (f"late policy: {self.days} day{'s' if self.days != 1 else ''} late ({self.how}): "
                f"-{self.share * 100:g} % ({points:g} -> {round(kept, 2):g} of {max_points:g})")


def lateness(policy: LatePolicy | None, due: datetime | None, marked: bool,
             submitted: datetime | None) -> Late | None:
    """What the policy takes from one submission (None: nothing, or no policy)."""
    if policy is None:
        return None
    if due is not None and submitted is not None:
        seconds = (submitted - due).total_seconds()
        if seconds <= 0:
            return None
        days = math.ceil(seconds / 86400)
        how = f"submitted {submitted:%Y-%m-%d %H:%M}, due {due:%Y-%m-%d %H:%M}"
    elif marked:
        days, how = 1, "marked late by the LMS, no submission time: counted as 1 day"
    else:
        return None
    return Late(days, how, policy.share(days))


# -- rosters --------------------------------------------------------------------------------------
@dataclass
class Person:
    """One row of a roster exported from the LMS."""
    name: str
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    participant: str = ""
    submitted: datetime | None = None
    line: int = 0


def read_roster(path: Path) -> tuple[str, list[Person]]:
    """("canvas" | "moodle" | "plain", the people) of a roster CSV: Canvas's gradebook export,
    Moodle's grading worksheet, or a CSV with a name and an id column (and `submitted`)."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise LmsProblem(f"roster {path} cannot be read ({type(error).__name__}); export it "
                         "from the LMS as CSV (UTF-8)") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise LmsProblem(f"roster {path} is empty")
    header = [cell.strip() for cell in rows[0]]
    if len(header) > 3 and "Student" in header[0] and "ID" in header[1]:   # Canvas's own test
        return "canvas", _canvas_roster(header, rows[1:])
    if "Identifier" in header:
        return "moodle", _moodle_roster(path, header, rows[1:])
    lowered = [cell.casefold() for cell in header]
    name = next((lowered.index(c) for c in ("name", "student", "full name") if c in lowered), None)
    ident = lowered.index("id") if "id" in lowered else None
    if name is None or ident is None:
        raise LmsProblem(f"roster {path} is neither Canvas's gradebook export (Student, ID, ...), "
                         "Moodle's grading worksheet (Identifier, Full name, ...) nor a CSV "
                         f"with name and id columns (its header: {', '.join(header[:6])})")
    submitted = lowered.index("submitted") if "submitted" in lowered else None
    people = []
    for number, row in enumerate(rows[1:], start=2):
        cell = (lambda i: row[i].strip() if i is not None and i < len(row) else "")
        people.append(Person(cell(name), canvas_id=cell(ident), participant=cell(ident),
                             submitted=parse_time(cell(submitted), f"roster line {number}"),
                             line=number))
    return "plain", people


def _canvas_roster(header, rows) -> list[Person]:
    column = {name: header.index(name) for name in header}
    people = []
    for number, row in enumerate(rows, start=2):
        if not row or "Points Possible" in row[0] or all(
                re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c or "", re.I) for c in row):
            continue
        cell = (lambda name: row[column[name]].strip()
                if name in column and column[name] < len(row) else "")
        people.append(Person(row[0].strip(), canvas_id=cell("ID"), sis_user_id=cell("SIS User ID"),
                             sis_login_id=cell("SIS Login ID"), section=cell("Section"),
                             line=number))
    return people


def _moodle_roster(path, header, rows) -> list[Person]:
    column = {name: header.index(name) for name in header}
    people = []
    for number, row in enumerate(rows, start=2):
        cell = (lambda name: row[column[name]].strip()
                if name in column and column[name] < len(row) else "")
        identifier = cell("Identifier")
        if not identifier.startswith(MOODLE_PARTICIPANT.strip()):
            raise LmsProblem(f"roster {path} line {number}: Identifier {identifier!r} is not "
                             "'Participant N' (download the worksheet again from the assignment)")
        try:
            submitted = parse_time(cell("Last modified (submission)"), f"roster line {number}")
        except LmsProblem:
            submitted = None          # Moodle writes dates in the user's language: not read
        people.append(Person(cell("Full name"), participant=identifier.split()[-1],
                             submitted=submitted, line=number))
    return people


def name_forms(name: str, *, roster: bool = False) -> set[str]:
    """The forms a name matches by: its words (letters and digits, case folded, composed) in
    order, and squashed together; for a roster's "Last, First" also "First Last" (Canvas's
    export writes names so, and its download squashes them: "Smith, John" -> smithjohn)."""
    def words(text):
        return re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text).casefold())

    forms = {" ".join(words(name)), "".join(words(name))}
    if roster and name.count(",") == 1:
        last, first = name.split(",")
        forms |= {" ".join(words(first) + words(last)), "".join(words(first) + words(last))}
    return {form for form in forms if form}


@dataclass
class Entry:
    """One student's line for the LMSs, from their kept results."""
    folder: str
    name: str
    layout: str
    lms_id: str
    points: dict                # exercise -> points (only the exercises graded)
    max_points: dict
    marked_late: bool
    report: str
    person: Person | None = None
    late: Late | None = None

    @property
    def total(self) -> float:
        """The points within the maximum: a bonus exercise's are not in it (`bonus`)."""
        return sum(p for e, p in self.points.items() if not is_bonus(e))

    @property
    def max_total(self) -> float:
        return sum(p for e, p in self.max_points.items() if not is_bonus(e))

    @property
    def bonus(self) -> float:
        """The bonus exercises' points, outside the maximum."""
        return sum(p for e, p in self.points.items() if is_bonus(e))

    @property
    def max_bonus(self) -> float:
        return sum(p for e, p in self.max_points.items() if is_bonus(e))

    @property
    def has_bonus(self) -> bool:
        return any(is_bonus(e) for e in self.points)


def match_roster(entries: list[Entry], kind: str, people: list[Person]) -> list[str]:
    """Set each entry's `person`; the lines saying what did not match (never guessed)."""
    problems = []
    by_forms: dict[str, list[Person]] = {}
    for person in people:
        for form in name_forms(person.name, roster=True):
            by_forms.setdefault(form, [])
            if person not in by_forms[form]:
                by_forms[form].append(person)
    for entry in entries:
        if entry.layout == "canvas" and kind == "canvas":
            found = [p for p in people if p.canvas_id == entry.lms_id]
        elif entry.layout == "moodle" and kind == "moodle":
            found = [p for p in people if p.participant == entry.lms_id]
        else:
            found = []
            for form in name_forms(entry.name):
                found += [p for p in by_forms.get(form, []) if p not in found]
        if len(found) == 1:
            entry.person = found[0]
        elif not found:
            problems.append(f"{entry.name} ({entry.folder}): not on the roster")
        else:
            problems.append(f"{entry.name} ({entry.folder}): matches {len(found)} roster rows ("
                            + ", ".join(f"line {p.line} {p.name}" for p in found[:4])
                            + "); none was chosen")
    return problems


def is_bonus(exercise_id: str) -> bool:
    """course.is_bonus: a bonus exercise's points sit outside the maximum."""
    from rnnkit.course import is_bonus as declared_bonus

    return declared_bonus(exercise_id)


# -- grades -----------------------------------------------------------------------------------------
def _number(value: float) -> str:
    return f"{round(value, 2):g}"


def grade_of(entry: Entry, out_of: float | None, *, bonus: bool = False) -> float:
    """The LMS grade: the points kept after the late policy, scaled to --out-of if given. With
    `bonus`, the bonus points treated the same way (scaled by the same factor: a bonus point
    weighs what a regular one does), for their own column."""
    kept = (entry.bonus if bonus else entry.total) * (1 - (entry.late.share if entry.late
                                                           else 0.0))
    return kept * out_of / entry.max_total if out_of and entry.max_total else kept


def canvas_id(entry: Entry) -> str:
    if entry.person and entry.person.canvas_id:
        return entry.person.canvas_id
    return entry.lms_id if entry.layout == "canvas" else ""


def participant(entry: Entry) -> str:
    if entry.person and entry.person.participant:
        return entry.person.participant
    return entry.lms_id if entry.layout == "moodle" else ""


def write_canvas(path: Path, entries: list[Entry], exercises: list, settings: Settings) -> list[str]:
    """Canvas's gradebook import; the lines naming who is not in it (no Canvas ID)."""
    from rnnkit.course import BY_ID

    # A bonus exercise is outside the maximum: with one column per exercise it has its own
    # already; with one total column, its points go to a bonus column beside it, never into it.
    bonus = [e for e in exercises if is_bonus(e)]
    if settings.canvas_columns == "exercises":
        columns = [f"{settings.assignment} {e} {BY_ID[e].title}" for e in exercises]
    else:
        columns = [settings.assignment] + ([f"{settings.assignment} bonus"] if bonus else [])
    rows = [list(CANVAS_STUDENT_COLUMNS) + columns]
    maxima = {e: max((x.max_points.get(e, 0.0) for x in entries), default=0.0) for e in exercises}
    regular = sum(m for e, m in maxima.items() if not is_bonus(e))
    total = settings.out_of or regular
    bonus_max = sum(maxima[e] for e in bonus) * (settings.out_of / regular
                                                 if settings.out_of and regular else 1.0)
    rows.append([CANVAS_POINTS_ROW, "", "", "", ""] + (
        [_number(maxima[e]) for e in exercises] if settings.canvas_columns == "exercises"
        else [_number(total)] + ([_number(bonus_max)] if bonus else [])))
    left_out = []
    for entry in entries:
        ident = canvas_id(entry)
        if not ident:
            left_out.append(f"{entry.name} ({entry.folder}): no Canvas ID (give --roster, "
                            "Canvas's gradebook export)")
            continue
        person = entry.person or Person(entry.name)
        if settings.canvas_columns == "exercises":
            kept = 1 - (entry.late.share if entry.late else 0.0)
            grades = [_number(entry.points[e] * kept) if e in entry.points else ""
                      for e in exercises]
        else:
            grades = [_number(grade_of(entry, settings.out_of))]
            if bonus:
                grades.append(_number(grade_of(entry, settings.out_of, bonus=True))
                              if entry.has_bonus else "")
        rows.append([person.name if entry.person else entry.name, ident, person.sis_user_id,
                     person.sis_login_id, person.section] + grades)
    _write_csv(path, rows)
    return left_out


def feedback_comment(entry: Entry, settings: Settings) -> str:
    """The Moodle feedback comment: the score, the late policy's share, where the report is."""
    from rnnkit.course import BY_ID

    parts = [f"{_number(entry.total)} of {_number(entry.max_total)} points"]
    if entry.late:
        parts.append(entry.late.note(entry.total, entry.max_total))
    if settings.out_of:
        parts.append(f"grade {_number(grade_of(entry, settings.out_of))} of {settings.out_of:g}")
    if entry.has_bonus:
        # Moodle's worksheet has one grade, which it skips above the maximum: the bonus is said
        # here, for the teacher to count where the course counts it.
        parts.append(f"bonus {_number(entry.bonus)} of {_number(entry.max_bonus)} points, "
                     "outside the maximum and not in the grade")
    parts += [f"{e} {BY_ID[e].title if e in BY_ID else ''}"
              f"{' (bonus)' if is_bonus(e) else ''}: {_number(entry.points[e])}/"
              f"{_number(entry.max_points[e])}" for e in sorted(entry.points)]
    return "; ".join(parts) + ". Every lost point is explained in report.txt (feedback files)."


def write_moodle(path: Path, entries: list[Entry], settings: Settings, now: datetime) -> list[str]:
    """Moodle's grading worksheet; the lines naming who is not in it (no participant number)."""
    rows = [list(MOODLE_COLUMNS)]
    left_out = []
    for entry in entries:
        number = participant(entry)
        if not number:
            left_out.append(f"{entry.name} ({entry.folder}): no Moodle participant number (give "
                            "--roster, the assignment's grading worksheet)")
            continue
        rows.append([f"{MOODLE_PARTICIPANT}{number}", entry.person.name if entry.person
                     else entry.name, _number(grade_of(entry, settings.out_of)),
                     _number(settings.out_of or entry.max_total),
                     now.isoformat(timespec="seconds"), feedback_comment(entry, settings)])
    _write_csv(path, rows)
    return left_out


def moodle_folder(name: str, number: str) -> str:
    """The folder Moodle's feedback zip import reads: `Full Name_N_assignfeedback_file`, the
    name with "_" written as a space (Moodle splits the folder's name at "_") and without the
    characters a file name cannot hold."""
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', " ", name.replace("_", " "))
    safe = " ".join(safe.split()) or "Participant"
    return f"{safe}_{number}_{MOODLE_FEEDBACK_PLUGIN}"


def write_moodle_feedback(path: Path, entries: list[Entry]) -> None:
    """Each student's report.txt in Moodle's layout for feedback files."""
    partial = path.with_name(path.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for entry in entries:
            number = participant(entry)
            if number:
                name = entry.person.name if entry.person else entry.name
                bundle.writestr(f"{moodle_folder(name, number)}/report.txt",
                                entry.report.encode("utf-8"))
    partial.replace(path)


def _write_csv(path: Path, rows) -> None:
    """Plain UTF-8 (no byte-order mark: the importers read the first header cell as it is)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
