"""GitHub Classroom: `python -m rnnkit release --out DIR --classroom` makes the student kit a
starter repository whose `.github/workflows/classroom.yml` grades every push with GitHub
Classroom's autograding actions, one step per exercise worth that exercise's points.

What the workflow runs is the SELF-CHECK (`python -m rnnkit grade exNN --strict`: exit status 0
only when the exercise earns every point): a template repository is copied into every
student's repository, so it must not hold the course secret, and the official grade is the
instructor's — clone the classroom's repositories into one folder, then `grade-class`.

The contract followed (read from the actions' own repositories, classroom-resources/
autograding-command-grader and autograding-grading-reporter, and from workflows GitHub
Classroom wrote): the workflow is named "Autograding Tests" and has one job,
`run-autograding-tests`; each `autograding-command-grader@v1` step takes `test-name`,
`setup-command`, `command` (exit status 0 passes), `timeout` (minutes) and `max-score` (all
or nothing); the `autograding-grading-reporter@v1` step reads each step's
`steps.<id>.outputs.result` from an environment variable `<ID>_RESULTS` and lists the ids in
`runners` (letters and digits, comma-separated). Its README says GitHub Classroom itself has
been sunset; the actions still run on GitHub Actions.
"""
from __future__ import annotations

import json
from pathlib import Path

WORKFLOW = ".github/workflows/classroom.yml"
PYTHON = "3.11"                 # within the kit's 3.11-3.13
STEP_MINUTES = 10               # one exercise: the grader's own budget is 300 s, plus its start


def _quoted(text: str) -> str:
    return json.dumps(text)     # a JSON string is a YAML double-quoted scalar


def workflow(catalogue: list[dict], exercise_ids=None) -> str:
    """classroom.yml for the exercises of `catalogue` (the grader's checks with their points:
    `classroom.check_catalogue`), or those of `exercise_ids`."""
    from rnnkit.course import BY_ID, resolve

    exercises = resolve(exercise_ids)
    points = {e.id: sum(row["points"] for row in catalogue if row["exercise"] == e.id)
              for e in exercises}
    lines = [
        "# GitHub Classroom's autograding for rnnkit, written by `python -m rnnkit release --out",
        "# DIR --classroom`. Every push runs the SELF-CHECK, one step per exercise: an exercise",
        "# earns its points here only when it earns every point (the command grader is all or",
        "# nothing; the step's log shows the score table and what to fix). This repository holds",
        "# no course secret, so this is not the grade: the official grade is your instructor's,",
        "# on inputs drawn from the course secret.",
        "name: Autograding Tests",
        "'on':",
        "- push",
        "- repository_dispatch",
        "- workflow_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "    - name: Checkout code",
        "      uses: actions/checkout@v4",
        "    - name: Set up Python",
        "      uses: actions/setup-python@v5",
        "      with:",
        f"        python-version: '{PYTHON}'",
        "        cache: pip",
        "    - name: Install the kit's requirements",
        "      run: python -m pip install -r requirements.txt",
    ]
    for exercise in exercises:
        name = f"{exercise.id} {BY_ID[exercise.id].title}"
        lines += [
            f"    - name: {_quoted(name)}",
            f"      id: {exercise.id}",
            "      uses: classroom-resources/autograding-command-grader@v1",
            "      with:",
            f"        test-name: {_quoted(name)}",
            "        setup-command: ''",
            f"        command: {_quoted(command(exercise.id))}",
            f"        timeout: {STEP_MINUTES}",
            f"        max-score: {points[exercise.id]:g}",
        ]
    lines += ["    - name: Autograding Reporter",
              "      uses: classroom-resources/autograding-grading-reporter@v1",
              "      env:"]
    lines += [f"        {e.id.upper()}_RESULTS: \"${{{{steps.{e.id}.outputs.result}}}}\""
              for e in exercises]
    lines += ["      with:", f"        runners: {','.join(e.id for e in exercises)}"]
    return "\n".join(lines) + "\n"


def command(exercise_id: str) -> str:
    """What a step runs: the self-check of one exercise, failing unless it earns every point."""
    return f"python -m rnnkit grade {exercise_id} --strict"


def write_workflow(kit: Path, catalogue: list[dict], exercise_ids=None) -> Path:
    path = Path(kit) / WORKFLOW
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow(catalogue, exercise_ids))
    return path
