"""`python -m rnnkit COMMAND`: grade, pack, release, update, grade-class, class-files, grade-submission, gradescope, image, prairielearn, bench.

Exit status: 0 whenever the command did its job (lost points are not an error); 2 with a
one-line reason when it could not run (an unknown exercise, a missing folder, ...).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rnnkit import KIT_ROOT
from rnnkit.course import EXERCISES, resolve


# Grading others' work needs the walls only Linux has (the Gradescope bundle runs
# grade-submission there too); `grade`, self-grading, works on macOS and Windows as well.
OFFICIAL_GRADING = ("grade-class", "grade-submission")


class UsageProblem(Exception):
    """The command cannot run as asked; the message is the one line to print."""


def official_secret_problem(command: str) -> None:
    """Official grading needs the reference and the course secret (a student kit has
    neither); UsageProblem saying how to get them."""
    from rnnkit.grader import secret
    from rnnkit.grader.session import solutions_available

    if not solutions_available():
        raise UsageProblem(f"{command} is official grading and needs the instructor's kit "
                           "(solutions/ and the course secret); a student kit self-checks with "
                           "`python -m rnnkit grade`")
    try:
        held = secret.load()
    except secret.SecretProblem as problem:
        raise UsageProblem(str(problem)) from None
    if held is None:
        raise UsageProblem(f"{command} is official grading and needs the course secret "
                           f"({secret.path()}): `python -m rnnkit release` makes one")


def _existing_folder(path: str, what: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.exists():
        raise UsageProblem(f"{what} {path} does not exist")
    if not folder.is_dir():
        raise UsageProblem(f"{what} {path} is not a folder")
    return folder.resolve()


def command_grade(options) -> int:
    import json

    from rnnkit.grader.api import GradingError, grade
    from rnnkit.grader.results import dump, to_jsonable
    from rnnkit.grader.session import solutions_available

    try:
        exercises = resolve(options.exercises)
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    target = _existing_folder(options.target, "target folder")
    if not options.allow_empty and not any((target / name).is_file() for e in EXERCISES
                                           for name in (e.filename, e.notebook)):
        names = ", ".join(e.filename for e in EXERCISES)
        raise UsageProblem(f"{target} holds none of the exercise modules ({names}, or the "
                           ".ipynb of one)")
    if options.json and not Path(options.json).resolve().parent.is_dir():
        raise UsageProblem(f"cannot write --json {options.json}: its folder does not exist")
    reference = options.reference
    if reference == "live" and not solutions_available():
        raise UsageProblem("--reference live needs solutions/ in the kit")
    print(run_header(_shown(target), reference), flush=True)
    try:
        report = grade(target, [e.id for e in exercises],
                       reference=reference, progress=True,
                       keywords=options.keywords, markers="not training" if options.quick else None)
    except GradingError as error:
        hint = f" (is -k {options.keywords!r} a pytest -k expression?)" if options.keywords else ""
        raise UsageProblem(f"{error}{hint}") from None
    if not report.results:
        raise UsageProblem(f"-k {options.keywords!r} selects none of the checks of "
                           f"{', '.join(e.id for e in exercises)}")
    print()
    print(report.table())
    if options.json:     # written after every student process is gone
        dump(options.json, report.gradescope())
    if options.details:
        Path(options.details).write_text(json.dumps(to_jsonable(report.results), indent=1))
    print(f"\n({report.seconds:.0f} s" +
          (f"; results written to {options.json})" if options.json else ")"))
    if options.strict and any(r.points < r.max_points for r in report.results):
        return 1          # for CI (GitHub Classroom's command grader): not every point earned
    return 0


def run_header(shown: str, reference: str = "auto") -> str:
    """The first line of a grading: which of the two modes it is, and against what."""
    from rnnkit.grader import secret
    from rnnkit.grader.session import solutions_available

    live = reference == "live" or (reference == "auto" and solutions_available())
    if not live:
        return (f"Self-check of {shown} against the references recorded in data/references "
                "(public inputs; not your grade)")
    try:
        held = secret.load()
    except secret.SecretProblem as problem:
        raise UsageProblem(str(problem)) from None
    if held is None:
        return (f"Self-check of {shown} against the live solutions/ on public inputs (no course "
                "secret: `python -m rnnkit release` makes one for the official grade)")
    return (f"Official grade of {shown} (course secret {held.id}: every input drawn from it)")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(path)


def command_release(options) -> int:
    from rnnkit.tools import release

    root = KIT_ROOT
    try:
        if options.check:
            problems = (release.exercise_differences(root) + release.notebook_differences(root)
                        + release.reference_differences(root)
                        + release.official_differences(root))
            if problems:
                print("\n".join(problems))
                print(f"release --check: {len(problems)} stale item(s); run `python -m rnnkit release`")
                return 1
            print("release --check: exercises/, their notebooks and data/references are up to date")
            from rnnkit.grader import secret

            if secret.load(root) is None:
                print(f"note: no course secret at {secret.path(root)}, so no official recordings "
                      "were checked; the official grade needs it (`python -m rnnkit release` "
                      "makes one, or restore yours from its backup)")
            return 0
        if options.out:
            out = release.write_student_kit(Path(options.out), with_solutions=options.with_solutions)
            kind = "kit with solutions" if options.with_solutions else "student kit"
            print(f"wrote the {kind} to {out}")
            if options.classroom is not None:
                write_classroom_workflow(out, options.classroom)
            return 0
        changed = release.write_exercises(root, release.generated_exercises(root))
        print("exercises/ regenerated: " + (", ".join(changed) if changed else "nothing changed"))
        if not options.skip_references:
            stale = release.stale_exercises(root)
            if stale:
                print(f"recording references of {', '.join(e.id for e in stale)} "
                      "(grading solutions/):", flush=True)
                release.record_references(root, stale)
            print("recorded: " + (", ".join(e.id for e in stale) if stale else
                                  "nothing (every reference is up to date)"))
            if not options.skip_official:
                record_official_references(root)
        return 0
    except release.ReleaseError as error:
        raise UsageProblem(str(error)) from None


def write_classroom_workflow(kit: Path, exercise_ids) -> None:
    from rnnkit.tools import github_classroom
    from rnnkit.tools.classroom import check_catalogue

    try:
        ids = [e.id for e in resolve(exercise_ids)]
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    path = github_classroom.write_workflow(kit, check_catalogue(ids), ids)
    print(f"wrote {path}: GitHub Classroom's autograding (the self-check, one step per "
          f"exercise: {', '.join(ids)}). Make {kit} the assignment's template repository; it "
          "holds no course secret, so grade officially with grade-class on the cloned "
          "repositories")


def record_official_references(root) -> None:
    """Make the course secret when there is none, then record the reference's results on the
    course's inputs that official gradings reuse (its trainings)."""
    from rnnkit.grader import secret as secrets
    from rnnkit.tools import release

    try:
        held, made = secrets.make(root)
    except secrets.SecretProblem as problem:
        raise UsageProblem(str(problem)) from None
    if made:
        print(f"made the course secret {secrets.path(root)} (id {held.id}): the official grade "
              "draws every input from it. Keep it with the course and back it up; it never "
              "goes into a student kit. Made anew, it starts a new course.")
    stale = release.stale_official(root, held)
    if stale:
        print(f"recording the official grade's references of {', '.join(e.id for e in stale)} "
              "(grading solutions/ officially):", flush=True)
        release.record_official(root, held, stale)
    print("official recordings: " + (", ".join(e.id for e in stale) if stale else
                                     "nothing (up to date for this course secret)"))


def command_grade_class(options) -> int:
    from rnnkit.tools.classroom import SubmissionProblem, grade_class

    submissions = _existing_folder(options.submissions, "submissions folder")
    if options.jobs < 1:
        raise UsageProblem(f"--jobs must be at least 1, received {options.jobs}")
    try:
        ids = [e.id for e in resolve(options.exercises)] if options.exercises else None
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    try:
        shard = None
        if options.shard:
            from rnnkit.tools import shards

            try:
                shard = shards.parse(options.shard)
            except shards.ShardProblem as problem:
                raise UsageProblem(str(problem)) from None
        grade_class(submissions, Path(options.out).resolve(), jobs=options.jobs, exercise_ids=ids,
                    fresh=options.fresh, keep_mixed=options.keep_mixed,
                    settings=lms_settings(options), shard=shard)
    except SubmissionProblem as problem:
        raise UsageProblem(str(problem)) from None
    return 0


LMS_OPTIONS = ("lms", "roster", "canvas_columns", "assignment", "out_of", "late_policy", "due")


def lms_settings(options) -> dict:
    """The LMS options given on this run (the others are kept from earlier runs in --out)."""
    given = {name: getattr(options, name) for name in LMS_OPTIONS
             if getattr(options, name, None) is not None}
    if given.get("roster"):
        roster = Path(given["roster"]).expanduser()
        if not roster.is_file():
            raise UsageProblem(f"--roster {given['roster']} is not a file")
        given["roster"] = str(roster.resolve())
    if given.get("late_policy") in ("off", "none"):
        given["late_policy"] = None
    return given


def command_class_files(options) -> int:
    from rnnkit.tools import classbook, lms

    unrecognised = ()
    if options.merge:
        from rnnkit.tools import shards

        out = Path(options.out).resolve()
        sources = [_existing_folder(folder, "shard --out") for folder in options.merge]
        if out in sources:
            raise UsageProblem(f"--out {out} is one of the shards: merge into another folder")
        try:
            unrecognised = shards.merge(sources, out, keep_mixed=options.keep_mixed)
        except shards.ShardProblem as problem:
            raise UsageProblem(str(problem)) from None
    out = _existing_folder(options.out, "--out")
    if not classbook.load(out):
        raise UsageProblem(f"{out} holds no graded student (students/*/results.json): "
                           "grade-class writes them")
    try:
        settings = lms.Settings.resolve(out, lms_settings(options))
    except lms.LmsProblem as problem:
        raise UsageProblem(str(problem)) from None
    settings.save(out)
    rows = classbook.rebuild(out, settings, unrecognised)
    print(f"gradebook: {out / classbook.GRADEBOOK} ({sum(1 for r in rows if r['folder'])} "
          f"students); {settings.describe()}")
    return 0


def command_grade_submission(options) -> int:
    from rnnkit.tools.classroom import grade_submission

    submission = Path(options.submission)
    if not submission.exists():
        raise UsageProblem(f"submission {submission} does not exist")
    document = grade_submission(submission, Path(options.json),
                                exercise_ids=options.exercises or None)
    print(document["output"])
    return 0


def command_hosted(options) -> int:
    """`gradescope` and `image`: a hosted grader's files, which hold the course secret."""
    from rnnkit.tools import gradescope, image
    from rnnkit.tools.classroom import SubmissionProblem

    write, next_step = {
        "gradescope": (gradescope.write_gradescope_bundle,
                       "upload it as the autograder of a Gradescope programming assignment"),
        "image": (image.write_image_context,
                  "the grading image's build context: `docker build -t rnnkit-grader {out}`"),
    }[options.command]
    try:
        out = write(Path(options.out), exercises=options.exercises)
    except SubmissionProblem as problem:
        raise UsageProblem(str(problem)) from None
    print(f"wrote {out}: {next_step.format(out=out)}. It holds the course secret and the "
          "solutions: keep it private (written readable by you only)")
    return 0


def command_prairielearn(options) -> int:
    """Always writes ROOT/results/results.json, also when this kit cannot grade officially."""
    from rnnkit.grader.handles import portable
    from rnnkit.tools import prairielearn

    root = Path(options.root)
    try:
        refusal = portable.official_grading_problem("prairielearn")
        if refusal:
            raise UsageProblem(refusal)
        official_secret_problem("prairielearn")
        ids = [e.id for e in resolve(options.exercises)] if options.exercises else None
    except (UsageProblem, ValueError) as problem:
        path = prairielearn.write_results(root, prairielearn.not_gradable(
            f"The grader is not set up (course staff: {problem})"))
        print(f"rnnkit prairielearn: {problem}; wrote {path}", file=sys.stderr)
        return 2
    results = prairielearn.grade_job(root, ids)
    path = prairielearn.write_results(root, results)
    print(results.get("message", ""), f"({path})")
    return 0


def command_pack(options) -> int:
    from rnnkit.grader.api import GradingError
    from rnnkit.tools.pack import PackProblem, pack

    target = _existing_folder(options.target, "target folder")
    try:
        ids = [e.id for e in resolve(options.exercises)] if options.exercises else None
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    try:
        pack(target, Path(options.out).resolve(), name=options.name,
             assignment=options.assignment, exercise_ids=ids,
             echo=lambda line: print(line, flush=True))
    except (PackProblem, GradingError) as problem:
        raise UsageProblem(str(problem)) from None
    return 0


def command_update(options) -> int:
    from rnnkit.tools import update

    kits = [_existing_folder(kit, "kit") for kit in options.kits]
    if any(kit == KIT_ROOT for kit in kits):
        raise UsageProblem("update brings another kit to this one's version: run it from the "
                           "new kit, naming the started kit (python -m rnnkit update OLD_KIT)")
    try:
        return update.main(kits, dry_run=options.dry_run)
    except update.UpdateProblem as problem:
        raise UsageProblem(str(problem)) from None


def command_bench(options) -> int:
    from rnnkit.tools import bench

    bench.main(repeat=options.repeat, class_size=options.class_size,
               class_exercises=options.class_exercises)
    return 0


def add_keep_mixed(parser, what: str) -> None:
    parser.add_argument("--keep-mixed", action="store_true",
                        help=f"{what} made under another kit version, course secret or mode "
                             "(refused otherwise)")


def add_lms_options(parser) -> None:
    """The options of the LMS files; each, once given, is kept in --out for the next runs."""
    group = parser.add_argument_group(
        "LMS files (kept in --out/class-settings.json once given; see the README)")
    group.add_argument("--lms", action="append", choices=("canvas", "moodle"), default=None,
                       help="write the files this LMS imports (repeat for both; default: the "
                            "LMSs of the submissions' layouts and of the roster)")
    group.add_argument("--roster", metavar="CSV",
                       help="the class list exported from the LMS (Canvas's gradebook export, "
                            "Moodle's grading worksheet, or a CSV with name and id columns): "
                            "maps names to the LMS's ids; what does not match is listed")
    group.add_argument("--canvas-columns", choices=("total", "exercises"), default=None,
                       help="one total column (default) or one column per exercise")
    group.add_argument("--assignment", metavar="TITLE", default=None,
                       help="the LMS assignment's title (default: rnnkit)")
    group.add_argument("--out-of", type=float, metavar="N", default=None,
                       help="the LMS grade's maximum (the points are scaled to it; default: "
                            "the points as they are)")
    group.add_argument("--late-policy", metavar="PERCENT[:CAP]", default=None,
                       help="take PERCENT of the points per day late, at most CAP percent, in "
                            "the LMS files (off by default; 'off' turns it off again)")
    group.add_argument("--due", metavar="TIME", default=None,
                       help="the deadline (ISO 8601, e.g. 2026-12-01T23:59) the late policy "
                            "counts days from, with the roster's submission times")


def build_parser() -> argparse.ArgumentParser:
    from rnnkit import __version__

    parser = argparse.ArgumentParser(prog="python -m rnnkit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade exercises and print the score table")
    grade.add_argument("exercises", nargs="*", metavar="EXERCISE",
                       help=f"exercise ids ({', '.join(e.id for e in EXERCISES)}); default: all")
    grade.add_argument("--target", default=str(KIT_ROOT / "exercises"),
                       help="folder of exercise modules (.py, or .ipynb notebooks) to grade "
                            "(default: exercises/)")
    grade.add_argument("--quick", action="store_true",
                       help="skip the checks that train a model (seconds instead of minutes); "
                            "not the official grade, and the table says so")
    grade.add_argument("-k", dest="keywords", metavar="EXPR",
                       help="only the checks whose names match EXPR, as in pytest -k "
                            "(e.g. -k 'mask or round_trip'); not the official grade")
    grade.add_argument("--json", metavar="FILE", help="also write Gradescope results.json here")
    grade.add_argument("--reference", choices=("auto", "live", "recorded"), default="auto",
                       help="where reference results come from (default: live solutions/ when "
                            "present, else the recorded ones)")
    grade.add_argument("--strict", action="store_true",
                       help="exit with status 1 unless every check graded earned every point "
                            "(for CI: GitHub Classroom's command grader passes on status 0)")
    grade.add_argument("--allow-empty", action="store_true", help=argparse.SUPPRESS)
    grade.add_argument("--details", metavar="FILE", help=argparse.SUPPRESS)  # per-check timings
    grade.set_defaults(handler=command_grade)

    klass = commands.add_parser("grade-class", help="grade a folder of submissions into a gradebook")
    klass.add_argument("submissions", metavar="SUBMISSIONS",
                       help="folder holding one folder or .zip per student, or an LMS's "
                            "download (Canvas, Moodle)")
    klass.add_argument("--out", required=True, metavar="DIR",
                       help="where to write students/<student>/results.json and report.txt, "
                            "and gradebook.csv")
    klass.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="submissions graded at once (each uses ~1 GiB, see bench; default 1)")
    klass.add_argument("--exercises", nargs="*", metavar="EXERCISE", default=None,
                       help="grade only these exercises (their results replace the earlier "
                            "ones of the students graded; the others are kept)")
    klass.add_argument("--fresh", action="store_true",
                       help="start over: set the earlier record in --out aside (moved into "
                            "--out/replaced-TIME/, never deleted) instead of merging into it")
    add_keep_mixed(klass, "keep earlier results")
    klass.add_argument("--shard", metavar="I/N", default=None,
                       help="grade only shard I of N (0 <= I < N) of the class, split by "
                            "student; auto/N takes I from JOB_COMPLETION_INDEX (Kubernetes) or "
                            "SLURM_ARRAY_TASK_ID (Slurm). Give each shard its own --out, then "
                            "`class-files --merge OUT_0 ... --out MERGED`")
    add_lms_options(klass)
    klass.set_defaults(handler=command_grade_class)

    files = commands.add_parser("class-files",
                                help="write the gradebook, the LMS files and the class report "
                                     "again from --out's results (no grading)")
    files.add_argument("--out", required=True, metavar="DIR",
                       help="the --out of grade-class (with --merge: where the merged record "
                            "goes, new or one to merge into)")
    files.add_argument("--merge", nargs="+", metavar="SHARD_OUT", default=None,
                       help="first merge the --out of every shard (grade-class --shard I/N) "
                            "into --out; refused when a shard is missing or of another class")
    add_keep_mixed(files, "with --merge: keep the shards' results")
    add_lms_options(files)
    files.set_defaults(handler=command_class_files)

    one = commands.add_parser("grade-submission",
                              help="grade one folder or .zip; always writes results.json")
    one.add_argument("submission", metavar="SUBMISSION")
    one.add_argument("--json", required=True, metavar="FILE")
    one.add_argument("--exercises", nargs="*", metavar="EXERCISE", default=None,
                     help="grade only these exercises (default: all)")
    one.set_defaults(handler=command_grade_submission)

    bundle = commands.add_parser("gradescope", help="write a Gradescope autograder bundle")
    bundle.add_argument("--out", default="autograder.zip", metavar="ZIP")
    bundle.add_argument("--exercises", nargs="*", metavar="EXERCISE", default=None,
                        help="the exercises this assignment grades (default: all)")
    bundle.set_defaults(handler=command_hosted)

    image = commands.add_parser("image", help="write the grading container image's build "
                                              "context (PrairieLearn, a cluster)")
    image.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
    image.add_argument("--exercises", nargs="*", metavar="EXERCISE", default=None,
                       help="the exercises the image grades (default: all)")
    image.set_defaults(handler=command_hosted)

    prairie = commands.add_parser(
        "prairielearn", help="(the image's entry point) grade ROOT/student into "
                             "ROOT/results/results.json")
    prairie.add_argument("--root", default="/grade", help="PrairieLearn's job folder (/grade)")
    prairie.add_argument("--exercises", nargs="*", metavar="EXERCISE", default=None,
                         help="grade only these exercises (default: all)")
    prairie.set_defaults(handler=command_prairielearn)

    bag = commands.add_parser("pack", help="grade quickly, then zip the exercise modules to hand in")
    bag.add_argument("--target", default=str(KIT_ROOT / "exercises"),
                     help="folder of your exercise modules or notebooks (default: exercises/)")
    bag.add_argument("--name", default=None,
                     help="your name in the zip's name (default: $RNNKIT_STUDENT, else your "
                          "login name)")
    bag.add_argument("--assignment", default="rnnkit",
                     help="the assignment in the zip's name (default: rnnkit)")
    bag.add_argument("--out", default=".", metavar="DIR",
                     help="where to write <name>-<assignment>.zip (default: here)")
    bag.add_argument("--exercises", nargs="*", metavar="EXERCISE", default=None,
                     help="pack only these exercises (an assignment of a few; default: every "
                          "exercise module in the folder)")
    bag.set_defaults(handler=command_pack)

    rel = commands.add_parser("release", help="regenerate exercises/ and the recorded references")
    rel.add_argument("--check", action="store_true",
                     help="only check that exercises/ and the references are up to date")
    rel.add_argument("--out", metavar="DIR", help="write a self-contained student kit to DIR")
    rel.add_argument("--with-solutions", action="store_true",
                     help="with --out: include solutions/ (publishing after the deadline)")
    rel.add_argument("--classroom", nargs="*", metavar="EXERCISE", default=None,
                     help="with --out: add GitHub Classroom's autograding workflow "
                          "(.github/workflows/classroom.yml: the self-check, one step per "
                          "exercise listed, default all)")
    rel.add_argument("--skip-references", action="store_true",
                     help="regenerate exercises/ only (quick; --check will report stale references)")
    rel.add_argument("--skip-official", action="store_true",
                     help="record the self-check's references only, not the official grade's "
                          "(--check will report those stale; an official grade computes them "
                          "itself until they are recorded)")
    rel.set_defaults(handler=command_release)
    up = commands.add_parser("update", help="bring started student kits to this kit's version "
                                            "in place (your code is never changed)")
    up.add_argument("kits", nargs="+", metavar="KIT",
                    help="a student kit to update (run this from the new kit)")
    up.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    up.set_defaults(handler=command_update)
    measure = commands.add_parser("bench", help="measure the budgets (time, memory, training speed)")
    measure.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    measure.add_argument("--class-size", type=int, default=0, metavar="N",
                         help="also grade a class of N submissions (throughput, memory)")
    measure.add_argument("--class-exercises", nargs="*", metavar="EXERCISE", default=None,
                         help="the class's assignment (default: ex01 ex02 ex03)")
    measure.set_defaults(handler=command_bench)
    return parser


# The kit's switches (README): a value it does not know is refused, never taken for "on".
SWITCHES = {"RNNKIT_WARM_GRADER": ("on", "off"), "RNNKIT_ZYGOTE": ("on", "off"),
            "RNNKIT_SOURCE_SCAN": ("on", "off")}


def switch_problem() -> None:
    from rnnkit.grader import memo

    for name, values in {**SWITCHES, "RNNKIT_ORACLE_MEMO": memo.MODES}.items():
        value = os.environ.get(name)
        if value is not None and value not in values:
            raise UsageProblem(f"{name}={value!r}: expected {', '.join(values[:-1])} or "
                               f"{values[-1]}")


def main(argv=None) -> int:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for stream in (sys.stdout, sys.stderr):     # Windows writes a redirected report in cp1252:
        if hasattr(stream, "reconfigure"):      # a character it lacks must not end the run
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    options = parser.parse_args(argv)
    if getattr(options, "with_solutions", False) and not options.out:
        parser.error("--with-solutions goes with --out DIR")
    if getattr(options, "classroom", None) is not None and not options.out:
        parser.error("--classroom goes with --out DIR")
    try:
        switch_problem()
        if options.command in OFFICIAL_GRADING:
            from rnnkit.grader.handles import portable

            refusal = portable.official_grading_problem(options.command)
            if refusal:
                raise UsageProblem(refusal)
        if options.command in OFFICIAL_GRADING + ("gradescope", "image"):
            official_secret_problem(options.command)
        return options.handler(options)
    except UsageProblem as error:
        print(f"rnnkit {options.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnkit {options.command}: interrupted", file=sys.stderr)
        return 130
