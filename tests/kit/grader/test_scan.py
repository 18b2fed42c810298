"""The source rules (rnnkit.grader.scan): the kit's own code keeps them, cheats break them."""
import pytest

from rnnkit import KIT_ROOT
from rnnkit.course import EXERCISES
from rnnkit.grader.scan import scan


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_the_kits_own_modules_keep_the_rules(folder):
    for exercise in EXERCISES:
        source = (KIT_ROOT / folder / exercise.filename).read_text()
        assert scan(source, exercise.id, exercise.filename) == []


@pytest.mark.parametrize("exercise, source, words", [
    ("ex01", "import keras\nclass SimpleRNNCell(keras.layers.SimpleRNNCell):\n    pass\n",
     "built-in SimpleRNNCell"),
    ("ex01", "from keras.layers import SimpleRNN\n", "built-in SimpleRNN"),
    ("ex03", "from keras import layers\ndef cell(units):\n    return layers.LSTMCell(units)\n",
     "built-in LSTMCell"),
    ("ex02", "import tensorflow as tf\n", "imports tensorflow"),
    ("ex02", "from jax import grad\n", "imports jax"),
    ("ex01", "import sys\nframe = sys._getframe(1)\n", "._getframe"),
    ("ex01", "import sys\nframe = getattr(sys, '_getframe')(1)\n", "'_getframe'"),
    ("ex01", "import gc\n", "imports gc"),
    ("ex01", "x = __import__('o' + 's')\n", "__import__()"),
    ("ex01", "exec('print(1)')\n", "exec()"),
    ("ex01", "import sys\nsys.modules['numpy'] = None\n", ".modules"),
    ("ex01", "import rnnkit.grader.compare\n", "imports rnnkit.grader.compare"),
    ("ex01", "def f(g):\n    return g.__globals__\n", ".__globals__"),
    # ctypes reached through NumPy (libc's calls, outside what the walls were written for)
    ("ex01", "from numpy.ctypeslib import ctypes as C\n", "imports ctypes"),
    ("ex01", "import numpy as np\nC = np.ctypeslib.ctypes\n", ".ctypeslib"),
    ("ex01", "import _ctypes\n", "imports _ctypes"),
    # a built-in reached by a name given as a value, written out or built at run time
    ("ex03", "from keras import layers\nK = getattr(layers, 'LSTMCell')\n", "built-in LSTMCell"),
    ("ex03", "import operator\nfrom keras import layers\nK = operator.attrgetter('LSTMCell')(layers)\n",
     "built-in LSTMCell"),
    ("ex03", "import operator, keras\nK = operator.attrgetter('layers.GRUCell')(keras)\n",
     "built-in GRUCell"),
    ("ex03", "from operator import attrgetter\nname = 'LSTM'\nK = attrgetter(name)\n",
     "attrgetter() with a name built at run time"),
    ("ex03", "from keras import layers\nK = object.__getattribute__(layers, 'LST' + 'MCell')\n",
     "__getattribute__() with a name built at run time"),
    ("ex03", "from keras import layers\nK = layers.__getattribute__('GRU')\n", "built-in GRU"),
    ("ex01", "from keras import layers\nK = getattr(layers, 'SimpleRNN')(4)\n", "built-in SimpleRNN"),
    # the module table, imported by name
    ("ex01", "from sys import modules\nm = modules['rnnkit.sandbox.wire']\n", ".modules"),
    ("ex01", "from sys import *\n", "imports * from sys"),
])
def test_cheats_are_named_with_their_line(exercise, source, words):
    findings = scan(source, exercise, "sub.py")
    assert findings and any(words in f for f in findings), findings
    assert all(f.startswith("sub.py:") for f in findings)


def test_main_may_compare_with_keras_but_other_functions_may_not():
    source = ("from keras import layers\n"
              "def main():\n    return layers.SimpleRNN(4)\n"
              "def helper():\n    return layers.SimpleRNN(4)\n")
    assert scan(source, "ex01", "s.py") == [
        "s.py:5: uses Keras's built-in SimpleRNN; ex01 asks you to write it yourself "
        "(main() may use it to compare)"]


def test_main_may_reach_keras_by_name_but_other_functions_may_not():
    """The same main() exemption for names given as values (getattr, attrgetter,
    __getattribute__) as for attributes; ex05 keeps Keras's cells (they stand in for ex03)."""
    source = ("import operator\nfrom keras import layers\n"
              "def main():\n    return getattr(layers, 'LSTMCell'), "
              "operator.attrgetter('GRU')(layers)\n"
              "def helper():\n    return operator.attrgetter('LSTMCell')(layers)\n")
    assert scan(source, "ex03", "s.py") == [
        "s.py:6: uses Keras's built-in LSTMCell; ex03 asks you to write it yourself "
        "(main() may use it to compare)"]
    assert scan("from keras import layers\nK = getattr(layers, 'LSTMCell')\n", "ex05",
                "s.py") == []


def test_the_usual_main_guard_and_ex03_using_simple_rnn_are_fine():
    source = ("from keras import layers\nvanilla = layers.SimpleRNNCell\n"
              "if __name__ == '__main__':\n    pass\n")
    assert scan(source, "ex03", "s.py") == []


def test_an_earlier_exercises_cell_is_not_keras_s():
    """ex03 imports the student's own ex01 cell: that is not handing the work to Keras."""
    source = ("try:\n    from .ex01_simple_rnn import SimpleRNNCell\nexcept ImportError:\n"
              "    from ex01_simple_rnn import SimpleRNNCell\n")
    assert scan(source, "ex03", "s.py") == []
    assert scan("from keras.layers import SimpleRNNCell\n", "ex01", "s.py")


@pytest.mark.parametrize("declared, refused", [("utf-7", True), ("latin-1", True),
                                               ("utf-8", False), (None, False)])
def test_a_module_is_scanned_as_python_reads_it(tmp_path, declared, refused):
    """Python decodes a module in the encoding its first lines declare (PEP 263). Under
    `# -*- coding: utf-7 -*-` the attacker's ex03 hid `import gc` and `sys.modules` in what the
    scan, reading UTF-8, took for one comment (`+AAo-` is a newline in UTF-7): no finding,
    13/27 with the hidden lines run. Any declared encoding but UTF-8 is refused now."""
    from rnnkit.course import BY_ID
    from rnnkit.grader.scan import scan_submission

    head = f"# -*- coding: {declared} -*-\n" if declared else ""
    body = "x = 1  # harmless+AAo-import gc\n" if declared == "utf-7" else "x = 1\n"
    (tmp_path / "ex01_simple_rnn.py").write_bytes((head + body).encode("ascii"))
    findings = scan_submission(tmp_path, BY_ID["ex01"])
    if refused:
        assert len(findings) == 1 and f"declares its source encoding as '{declared}'" in \
            findings[0].replace("iso-8859-1", declared), findings
    else:
        assert findings == [], findings
