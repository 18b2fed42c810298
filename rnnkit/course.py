"""The course: every exercise declared once.

An exercise is a module in `solutions/` (the reference; `exercises/` is generated from it), a
probe module `rnnkit/probes/<id>.py` (what runs in the student's sandboxed process), a
check file `tests/grading/test_<id>.py` (what the grader compares) and one `Exercise(...)` entry
below. Everything else — the CLI's ids, the source rules, the runtime wall against Keras's
built-in layers, the stand-ins a later exercise gets for an unfinished earlier one, what a
recorded reference depends on, the bench's rows — is derived from these entries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit import KIT_ROOT


@dataclass(frozen=True)
class Exercise:
    id: str                    # any identifier: "ex01", "warmup"; used in paths and reports
    module: str                # module name inside the exercises package, "ex01_simple_rnn"
    title: str                 # one line for the score table
    shape: str = ""            # the lecture's problem shape(s) this exercise solves
    # Keras layers (names in keras.layers) the exercise may not use outside main(): it asks
    # the student to write them. Refused in the source and made unusable at run time.
    built_ins: frozenset = frozenset()
    # Modules the exercise must do without (ex02 is NumPy by hand: no autodiff).
    forbidden_imports: frozenset = frozenset()
    # Names this module offers later exercises, with the keras.layers class that stands in for
    # each when the student's version is unfinished or wrong: {"LSTMCell": "LSTMCell"}.
    stand_ins: dict = field(default_factory=dict)
    uses: tuple = ()           # ids of earlier exercises whose module this one imports
    # A bonus exercise's points are a column of their own in reports, gradebooks and LMS
    # files, outside the maximum.
    bonus: bool = False

    def __post_init__(self):
        if not self.id.isidentifier() or not self.module.isidentifier():
            raise ValueError(f"exercise id and module must be identifiers; received "
                             f"id={self.id!r}, module={self.module!r}")

    def signature(self) -> str:
        """The declaration as canonical text (sets sorted): the same in every process."""
        import json

        declared = {"id": self.id, "module": self.module, "title": self.title,
                    "shape": self.shape, "built_ins": sorted(self.built_ins),
                    "forbidden_imports": sorted(self.forbidden_imports),
                    "stand_ins": dict(sorted(self.stand_ins.items())),
                    "uses": list(self.uses)}
        if self.bonus:              # only when set: the nine's recordings keep their prints
            declared["bonus"] = True
        return json.dumps(declared, sort_keys=True)

    @property
    def filename(self) -> str:
        return f"{self.module}.py"

    @property
    def notebook(self) -> str:
        """The same module as a notebook (what the student kit also carries)."""
        return f"{self.module}.ipynb"

    @property
    def test_file(self):
        return KIT_ROOT / "tests" / "grading" / f"test_{self.id}.py"

    @property
    def probe_file(self):
        return KIT_ROOT / "rnnkit" / "probes" / f"{self.id}.py"


# Keras's ConvLSTM layers carry an LSTM cell of their own (ConvLSTMCell, a 1-wide kernel
# of which is a plain LSTM cell): walled off wherever Keras's LSTM is.
CONV_LSTM = frozenset({"ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"})
GATED = frozenset({"LSTM", "LSTMCell", "GRU", "GRUCell"}) | CONV_LSTM
LAYERS = frozenset({"LSTM", "GRU"}) | CONV_LSTM
# Keras's attention layers that compute what ex10 asks for (AdditiveAttention is an
# Attention; multi-head and grouped-query attention are dot-product, not the lesson's).
ATTENTION = frozenset({"AdditiveAttention", "Attention"})

EXERCISES: tuple[Exercise, ...] = (
    Exercise("ex01", "ex01_simple_rnn", "vanilla RNN cell",
             shape="all four: one-to-one, one-to-many, many-to-one, many-to-many",
             built_ins=frozenset({"SimpleRNN", "SimpleRNNCell"}),
             stand_ins={"SimpleRNNCell": "SimpleRNNCell"}),
    Exercise("ex02", "ex02_bptt", "backpropagation through time",
             shape="many-to-many (aligned)",
             forbidden_imports=frozenset({"tensorflow", "keras", "torch", "jax", "autograd",
                                         "sympy"})),
    Exercise("ex03", "ex03_gated_cells", "gated cells: LSTM, GRU",
             shape="many-to-one (the memory task), many-to-many (sequences)",
             built_ins=GATED, stand_ins={"LSTMCell": "LSTMCell", "GRUCell": "GRUCell"},
             uses=("ex01",)),
    Exercise("ex04", "ex04_time_series", "time series forecasting",
             shape="many-to-one (next value), many-to-many (a horizon of K values)",
             built_ins=GATED, uses=("ex03",)),
    Exercise("ex05", "ex05_sentiment", "sentiment analysis: word order",
             shape="many-to-one", built_ins=LAYERS, uses=("ex03",)),
    Exercise("ex06", "ex06_speech", "speech: features, words, phonemes with CTC",
             shape="many-to-one (words), many-to-many unaligned (phonemes, CTC)",
             # Not GATED: the scan would refuse `from .ex03_gated_cells import LSTMCell`.
             built_ins=LAYERS, uses=("ex03",)),
    Exercise("ex07", "ex07_char_rnn", "character-level generation: sampling",
             shape="many-to-many aligned (training), one-to-many (generation)",
             built_ins=LAYERS, uses=("ex03",)),
    Exercise("ex08", "ex08_captioning", "image captioning", shape="one-to-many",
             built_ins=LAYERS, uses=("ex03",)),
    Exercise("ex09", "ex09_seq2seq", "seq2seq: stop token, greedy, beam, exhaustive search",
             shape="many-to-many (not aligned): an encoder-decoder",
             built_ins=GATED, uses=("ex03",)),
    Exercise("ex10", "ex10_attention", "attention and depth: additive attention, residual stacks",
             shape="many-to-many: attention weights (T, S) between a decoder and an encoder; "
                   "a deep stack, many-to-many aligned",
             built_ins=GATED | ATTENTION, uses=("ex03",), bonus=True),
)
BY_ID = {exercise.id: exercise for exercise in EXERCISES}
BY_MODULE = {exercise.module: exercise for exercise in EXERCISES}


def resolve(ids: list[str] | None) -> list[Exercise]:
    """The exercises named by `ids` (all when empty); ValueError names the valid ids."""
    if not ids:
        return list(EXERCISES)
    unknown = [name for name in ids if name not in BY_ID]
    if unknown:
        valid = ", ".join(BY_ID)
        raise ValueError(f"unknown exercise {', '.join(unknown)}; valid ids: {valid}")
    return [BY_ID[name] for name in ids]


def is_bonus(exercise_id: str) -> bool:
    """Whether the exercise's points sit outside the maximum (a bonus column of their own);
    an id the course does not declare is not a bonus. Read at each call, so every total (score
    table, results.json, gradebook, LMS files, class report) follows the declaration."""
    exercise = BY_ID.get(exercise_id)
    return bool(exercise and exercise.bonus)


def closure(exercise: Exercise) -> list[Exercise]:
    """The exercise and every earlier exercise its module imports, directly or not."""
    seen: list[Exercise] = []

    def visit(item: Exercise):
        if item in seen:
            return
        seen.append(item)
        for name in item.uses:
            if name not in BY_ID:
                raise ValueError(f"{item.id} uses unknown exercise {name!r}")
            visit(BY_ID[name])

    visit(exercise)
    return seen
