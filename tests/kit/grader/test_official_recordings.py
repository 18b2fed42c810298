"""What the official grade reads from release's recordings, and what it never may.

Release's official grading of solutions/ records every oracle result whose inputs the
submission did not choose; an official grade reads them instead of computing them (the
course seed's half of every check). Two things must never come from a recording: a result
about an answer the student's process returned, and a result on the submission seed's inputs
(release grades with a seed no file draws). Checked on a Grader of ex02 (NumPy only: no
student process is started here) with an oracle whose recorded value is planted, so a read is
told from a computation."""
import shutil

import numpy as np
import pytest

from conftest import KIT_ROOT

from rnnkit.course import BY_ID
from rnnkit.grader import oracles, secret
from rnnkit.grader.references import ReferenceStore, reference_key, write_store
from rnnkit.grader.session import Grader
from rnnkit.sandbox import wire

CLIP = oracles.of("ex02").tf_clip
GRADS = [np.full((2, 2), 3.0), np.full((2,), 4.0)]      # global norm sqrt(68): clipped to 1
PLANTED = ([np.zeros((2, 2)), np.zeros((2,))], 0.0)     # not what tf_clip computes


def key_of(args, seed=0):
    return reference_key(f"oracle:{CLIP.qualified}", {"args": list(args), "kwargs": {}}, seed)


@pytest.fixture
def graders(tmp_path):
    """make(record_official=...) -> an official Grader of ex02 on a copy of the solution,
    its official recordings in tmp_path."""
    target = tmp_path / "submission"
    target.mkdir()
    shutil.copy(KIT_ROOT / "solutions" / "ex02_bptt.py", target)
    held = secret.load()
    assert held is not None, "the kit tests run under a course secret (conftest)"
    made = []

    def make(record_official=False):
        grader = Grader(BY_ID["ex02"], target, mode="live", secret=held,
                        record_official=record_official)
        grader.official_store = ReferenceStore(tmp_path / "official" / "ex02.npz")
        made.append(grader)
        return grader

    yield make
    for grader in made:
        grader.close()


def test_an_official_grade_reads_what_release_recorded(graders, tmp_path):
    write_store(tmp_path / "official" / "ex02.npz",
                {key_of((GRADS, 1.0)): wire.encode(PLANTED)})
    grader = graders()
    assert grader.official
    clipped, norm = grader.oracle(CLIP, GRADS, 1.0)
    assert norm == PLANTED[1] and all(not c.any() for c in clipped)


def test_an_answer_from_the_students_process_is_never_looked_up(graders, tmp_path):
    write_store(tmp_path / "official" / "ex02.npz",
                {key_of((GRADS, 1.0)): wire.encode(PLANTED)})
    grader = graders()
    answer = grader._from_student({"grads": [g.copy() for g in GRADS]})   # as run() returns
    clipped, norm = grader.oracle(CLIP, answer["grads"], 1.0)
    assert norm == pytest.approx(np.sqrt(68.0))            # computed, not the planted 0
    assert np.sqrt(sum(float(np.sum(c ** 2)) for c in clipped)) == pytest.approx(1.0, rel=1e-6)


def test_release_records_shared_inputs_only_and_under_a_seed_no_file_draws(graders):
    recording = graders(record_official=True)
    assert recording.record_official
    recording.oracle(CLIP, GRADS, 1.0)                       # the course's inputs
    answer = recording._from_student([g * 2 for g in GRADS])
    recording.oracle(CLIP, answer, 1.0)                      # about the submission
    assert list(recording.official_store.recorded) == [key_of((GRADS, 1.0))]
    # the seed release grades solutions/ under is neither the file's nor the last run's
    assert recording.submission_seed() != graders().submission_seed()
    assert recording.submission_seed() != graders(record_official=True).submission_seed()
    assert graders().submission_seed() == graders().submission_seed()
