"""The LMSs' import formats as their own documentation and source define them, for the tests
of the files grade-class writes for them (rnnkit.tools.lms). Read on 2026-12-07:

- Canvas, "How do I import grades in the Gradebook?" (community.canvaslms.com, Instructor
  Guide) and the importer itself, canvas-lms app/models/gradebook_importer.rb: the header's
  first cell holds "Student" and the second "ID"; "SIS User ID" then "SIS Login ID" (then
  optionally "Integration ID", "Root Account") follow, and the last student column holds
  "Section"; later columns are assignments ("Title" or "Title (id)"), except those matching
  the read-only totals (Current Score, Final Grade, ...); a row whose first cell holds "Points
  Possible" gives new assignments their points; a student is found by the ID column (the user
  id), then by SIS User ID, SIS Login ID, then name. The export's first rows are below.
- Moodle, mod/assign/feedback/offline/importgradeslib.php (the grading worksheet's importer):
  it locates the columns named get_string('recordid', 'assign') = "Identifier",
  get_string('grade') = "Grade" and get_string('lastmodifiedgrade', 'assign') = "Last
  modified (grade)" (refusing the file without all three), and each feedback plugin's editor
  field by its description (the comments plugin: "Feedback comments"); the identifier is
  get_string('hiddenuser', 'assign') = "Participant " followed by the participant number
  (get_uniqueid_for_user), the number Moodle's "download all submissions" writes into its
  names (mod/assign/classes/downloader.php: fullname with "_" as " ", "_", that number).
  mod/assign/gradingtable.php writes the worksheet's columns in the order below.
- Moodle, mod/assign/feedback/file/importziplib.php (feedback files in a zip): each path
  part is split at "_" into at most 5 pieces; at least 4 are needed, the second must be a
  participant number and the third and fourth name a plugin (assignfeedback, file); the
  rest of the path is the feedback file's name.

The functions here restate those rules in Python, so a test can read a written file the way
the LMS would.
"""
import csv
import io
import re

# The first rows of a Canvas gradebook export (Grades > Export), as the importer reads back.
CANVAS_EXPORT = (
    "Student,ID,SIS User ID,SIS Login ID,Section,rnnkit (555),Current Score,Final Score\n"
    "    Points Possible,,,,,38,(read only),(read only)\n"
    '"Lovelace, Ada",101,S101,ada@uni.example,RNN 2026,,0.00,0.00\n'
    '"Turing, Alan",102,S102,alan@uni.example,RNN 2026,,0.00,0.00\n'
    '"Liskov, Barbara",103,S103,barbara@uni.example,RNN 2026,,0.00,0.00\n'
    '"Student, Test",999,,,RNN 2026,,0.00,0.00\n')
CANVAS_NON_ASSIGNMENT = ("Current Score", "Current Points", "Current Grade", "Final Score",
                         "Final Points", "Final Grade", "Override Score", "Override Grade",
                         "Override Status")

# A Moodle grading worksheet as downloaded (gradingtable.php's download columns, with the
# email as the site's extra user field, file submissions, and feedback comments).
MOODLE_WORKSHEET = (
    '"Identifier","Full name","Email address","Status","Grade","Maximum Grade",'
    '"Grade can be changed","Last modified (submission)","File submissions",'
    '"Last modified (grade)","Feedback comments"\n'
    '"Participant 1001","Grace Hopper","grace@uni.example","Submitted for grading","",'
    '"100.00","Yes","Tuesday, 1 December 2026, 10:15 PM","hopper.zip","-",""\n'
    '"Participant 1002","Edsger Dijkstra","edsger@uni.example","Submitted for grading","",'
    '"100.00","Yes","Thursday, 3 December 2026, 9:00 AM","ex02_bptt.py","-",""\n')
MOODLE_REQUIRED = ("Identifier", "Grade", "Last modified (grade)")
MOODLE_PARTICIPANT = "Participant "


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def canvas_reads(rows: list[list[str]]) -> dict:
    """What Canvas's importer takes from a file: the student columns, the assignment columns,
    the points row, and per student row (ID, SIS User ID, SIS Login ID, name, grades)."""
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], header
    columns = 3
    sis_user = sis_login = None
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        sis_login, columns = 2, 4
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        extra = 1 if re.search(r"Integration\s+ID", header[4]) else 0
        sis_user, sis_login, columns = 2, 3, 5 + extra
    assert "Section" in header[columns - 1], f"the last student column is not Section: {header}"
    assignments = [(i, name) for i, name in enumerate(header[columns:], start=columns)
                   if not re.search("|".join(CANVAS_NON_ASSIGNMENT), name)]
    points, students = None, []
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            points = {name: row[i] for i, name in assignments}
            continue
        students.append({"id": row[1], "sis_user_id": row[sis_user] if sis_user else "",
                         "sis_login_id": row[sis_login] if sis_login else "", "name": row[0],
                         "grades": {name: row[i] for i, name in assignments}})
    return {"assignments": [name for _, name in assignments], "points": points,
            "students": students}


def moodle_reads(rows: list[list[str]]) -> list[dict]:
    """What Moodle's worksheet importer takes: per row, the participant number, the grade,
    the last-modified time and the feedback comment."""
    header = rows[0]
    missing = [name for name in MOODLE_REQUIRED if name not in header]
    assert not missing, f"Moodle refuses a worksheet without {missing}"
    found = []
    for row in rows[1:]:
        identifier = row[header.index("Identifier")]
        assert identifier.startswith(MOODLE_PARTICIPANT), identifier
        found.append({"participant": identifier[len(MOODLE_PARTICIPANT):],
                      "grade": row[header.index("Grade")],
                      "modified": row[header.index("Last modified (grade)")],
                      "comment": row[header.index("Feedback comments")]
                      if "Feedback comments" in header else None})
    return found


def moodle_zip_reads(path: str):
    """(participant number, plugin, feedback file name) as Moodle's feedback-zip importer
    reads a path of the zip, or None when it ignores it."""
    name = path.rsplit("/", 1)[-1]
    if path.endswith("/") or name.startswith((".", "~")):
        return None
    parts = path.split("/")
    while parts:
        info = parts.pop(0).split("_", 4)
        if len(info) < 4 or not info[1].isdigit():
            continue
        rest = [info[4] if len(info) == 5 else ""] + parts
        return info[1], (info[2], info[3]), "/".join(rest)
    return None
