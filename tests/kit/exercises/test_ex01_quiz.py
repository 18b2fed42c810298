"""ex01's quiz on the lecture's applications (issue 26): the answer key
(rnnkit.official.ex01.QUIZ) against the public questions, every wrong answer explained, the
solution's answers full marks in an official grade, and no answer anywhere in a student kit:
its self-check lists the quiz as official-only, and a grep of the whole kit (recorded
references included) finds none of the key's sentences, a grep shown to find one planted.

Run: python -m pytest -q tests/kit/exercises/test_ex01_quiz.py (about a minute: two official
gradings of ex01's quiz and one self-check in a student kit)
"""
import json
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from conftest import grade

from rnnkit import KIT_ROOT
from rnnkit.official import ex01 as official
from rnnkit.probes import ex01 as probes

SOLUTION = KIT_ROOT / "solutions" / "ex01_simple_rnn.py"


def public_quiz():
    """SHAPES, APPLICATIONS and the answers of the solution module, read without importing
    it (no TensorFlow): the quiz's lines are plain literals."""
    import ast

    tree = ast.parse(SOLUTION.read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id in ("SHAPES", "APPLICATIONS"):
            found[node.targets[0].id] = ast.literal_eval(node.value)
        if isinstance(node, ast.FunctionDef) and node.name == "application_shapes":
            found["answers"] = ast.literal_eval(node.body[-1].value)
    return found


def answer(shape, seq2seq):
    """What probe_application_shape returns for a well-formed pair."""
    return {"found": "pair", "shape": shape, "shape_is_str": True, "seq2seq": seq2seq}


# -- the key against the questions ---------------------------------------------------------------
def test_the_key_answers_exactly_the_public_questions():
    quiz = public_quiz()
    assert list(quiz["APPLICATIONS"]) == list(probes.QUIZ_APPLICATIONS) == list(official.QUIZ)
    assert quiz["SHAPES"] == official.QUIZ_SHAPES
    for application, (accepted, why) in official.QUIZ.items():
        assert set(accepted) <= set(official.QUIZ_SHAPES), application
        # seq2seq is the not-aligned shape: an application is seq2seq in every accepted shape
        # or in none (the feedback's "it is seq2seq" must hold whichever shape is given)
        assert len({shape == official.SEQ2SEQ for shape in accepted}) == 1, application
        assert why and len(why) < 400, application


def test_the_lectures_named_answers():
    """The issue's two: image denoising is not seq2seq; question answering is."""
    assert official.SEQ2SEQ not in official.QUIZ["image_denoising"][0]
    assert official.QUIZ["question_answering"][0] == (official.SEQ2SEQ,)
    assert official.QUIZ["captioning"][0] == ("one-to-many",)
    assert official.QUIZ["sentiment"][0] == ("many-to-one",)


def test_the_solution_answers_every_question_right():
    quiz = public_quiz()
    for application in probes.QUIZ_APPLICATIONS:
        assert official.quiz_feedback(application, answer(*quiz["answers"][application])) \
            is None, application


# -- every wrong answer, explained -----------------------------------------------------------------
def test_every_wrong_answer_is_explained():
    """All 5 shapes x 2 seq2seq flags for each application: the right ones pass, each wrong
    one says what was answered, what is right, and why (the key's sentence)."""
    passed = {}
    for application, shape, seq2seq in product(official.QUIZ, official.QUIZ_SHAPES,
                                                (True, False)):
        accepted, why = official.QUIZ[application]
        right = shape in accepted and seq2seq == (accepted[0] == official.SEQ2SEQ)
        said = official.quiz_feedback(application, answer(shape, seq2seq))
        if right:
            assert said is None, (application, shape, seq2seq, said)
            passed.setdefault(application, []).append(shape)
            continue
        assert said and said.endswith(why), (application, shape, seq2seq, said)
        if shape in accepted:
            assert said.startswith(f'the shape "{shape}" is right, but you said'), said
        else:
            assert said.startswith(f'you answered "{shape}"'), said
            assert all(f'"{one}"' in said for one in accepted), said
    # two answers are accepted exactly where the key says both are defensible
    assert {a for a, shapes in passed.items() if len(shapes) == 2} == {
        "time_series", "image_denoising"}
    assert official.quiz_feedback("image_denoising", answer(official.SEQ2SEQ, True)).startswith(
        'you answered "many-to-many, not aligned", seq2seq; it is "one-to-one" or '
        '"many-to-many, aligned", not seq2seq: an image maps to an image of the same size: no '
        "sequence is read and emitted of a different length, so not seq2seq")


@pytest.mark.parametrize("got, said", [
    ({"found": "none", "type": "list"}, "application_shapes() must return a dict"),
    ({"found": "missing", "keys": ["sentiment"]}, "your dict has no entry 'translation'"),
    ({"found": "other", "value": "'many-to-one'"}, "expected a pair (shape, is_seq2seq)"),
    ({"found": "pair", "shape": "1:n", "shape_is_str": True, "seq2seq": True},
     "1:n is not one of the shapes"),
    ({"found": "pair", "shape": "3", "shape_is_str": False, "seq2seq": True},
     "3 is not one of the shapes"),
    ({"found": "pair", "shape": "many-to-one", "shape_is_str": True, "seq2seq": "'yes'"},
     "is_seq2seq must be True or False, got 'yes'"),
])
def test_a_malformed_answer_says_what_is_expected(got, said):
    assert official.quiz_feedback("translation", got).startswith(said)


def test_spellings_of_a_shape_are_read_as_that_shape():
    for text in ("Many-to-many (not aligned)", "many_to_many not aligned", "MANY TO ONE"):
        assert official._shape_of(text) in official.QUIZ_SHAPES, text
    assert official._shape_of("many-to-many") is None          # aligned or not: say which


# -- official gradings ----------------------------------------------------------------------------
MISTAKES = {   # application -> (the wrong answer, the start of the feedback it must get)
    "image_denoising": (("many-to-many, not aligned", True),
                        'you answered "many-to-many, not aligned", seq2seq; it is "one-to-one"'),
    "translation": (("many-to-many, not aligned", False),
                    'the shape "many-to-many, not aligned" is right, but you said not seq2seq'),
    "captioning": (("many-to-one", False), 'you answered "many-to-one", not seq2seq; it is '
                                           '"one-to-many", not seq2seq'),
}


def planted_quiz(folder: Path, answers: dict) -> Path:
    """The solution module with `answers` in place of its quiz answers."""
    source = SOLUTION.read_text()
    for application, (shape, seq2seq) in answers.items():
        right = public_quiz()["answers"][application]
        old = f'"{application}": ("{right[0]}", {right[1]})'
        assert old in source
        source = source.replace(old, f'"{application}": ("{shape}", {seq2seq})')
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SOLUTION.name).write_text(source)
    return folder


def quiz_tests(graded):
    return [t for t in graded.tests if "Quiz:" in t["name"]]


def test_the_official_grade_credits_the_solution_and_explains_each_mistake(tmp_path):
    right = grade(KIT_ROOT / "solutions", "ex01", "-k", "quiz", tmp=tmp_path)
    assert right.document["mode"] == "official"
    tests = quiz_tests(right)
    assert len(tests) == len(probes.QUIZ_APPLICATIONS) and \
        sum(t["score"] for t in tests) == sum(t["max_score"] for t in tests) == 2.5
    wrong = grade(planted_quiz(tmp_path / "wrong", {a: w for a, (w, _) in MISTAKES.items()}),
                  "ex01", "-k", "quiz", tmp=tmp_path)
    by_application = {t["name"].rsplit("(", 1)[1].rstrip(")"): t for t in quiz_tests(wrong)}
    for application, test in by_application.items():
        if application in MISTAKES:
            assert test["score"] == 0 and test["output"].startswith(MISTAKES[application][1]), \
                test["output"]
            assert test["output"].endswith(official.QUIZ[application][1])
        else:
            assert test["score"] == test["max_score"], test["output"]


def test_the_stub_is_not_started(tmp_path):
    stub = grade(KIT_ROOT / "exercises", "ex01", "-k", "quiz", tmp=tmp_path)
    assert {t["tags"][1] for t in quiz_tests(stub)} == {"not_started"}
    assert "not started" in stub.completed.stdout


# -- the student kit holds no answer --------------------------------------------------------------
def answer_marks() -> list[str]:
    """Strings that only the answer key holds: each application's sentence (its first 40
    characters, a sentence no question repeats), and the solution's answer lines."""
    marks = [why[:40] for _, why in official.QUIZ.values()]
    marks += [f'"{a}": ("{s}", {f})' for a, (s, f) in public_quiz()["answers"].items()]
    return marks


def leaks(kit: Path) -> list[str]:
    """Every place in `kit` holding one of answer_marks(): text files, and the strings of the
    recorded references (compressed .npz arrays, read as arrays)."""
    marks, found = answer_marks(), []
    for path in sorted(p for p in kit.rglob("*") if p.is_file()):
        texts = []
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                texts = [str(arrays[k].tolist()) for k in arrays.files
                         if arrays[k].dtype.kind in "US"]
        else:
            texts = [path.read_bytes().decode("utf-8", "replace")]
        found += [f"{path.relative_to(kit)}: {mark}" for text in texts for mark in marks
                  if mark in text]
    return found


def test_the_student_kit_holds_no_answer_and_its_self_check_lists_the_quiz(student_kit):
    assert not (student_kit / "rnnkit" / "official").exists()
    assert leaks(student_kit) == []
    # the grep finds an answer planted where one could slip in (a recorded reference's strings)
    planted = student_kit / "data" / "references" / "planted.npz"
    np.savez_compressed(planted, feedback=np.array([official.QUIZ["captioning"][1]]))
    assert leaks(student_kit) == [f"data/references/planted.npz: "
                                  f"{official.QUIZ['captioning'][1][:40]}"]
    planted.unlink()
    # the self-check runs no quiz check and lists them as the official grade's
    checked = grade(student_kit / "exercises", "ex01", kit=student_kit, tmp=student_kit.parent)
    assert checked.document["mode"] == "self-check" and quiz_tests(checked) == []
    assert ("- ex01 Quiz: the application's problem shape, and whether it is seq2seq, 10 checks "
            f"({', '.join(probes.QUIZ_APPLICATIONS)}) [2.5]") in checked.completed.stdout
    said = checked.completed.stdout + json.dumps(checked.document)
    assert not [mark for mark in answer_marks() if mark in said]
