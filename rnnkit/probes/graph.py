"""Call a student's function the way training calls it: inside a `tf.function`.

`fit` and the exercises' own training steps trace the loss (and what it calls) once, on
symbolic tensors: `np.asarray`, `float(...)` or a Python `if` on such a tensor fails there,
although the same function called eagerly on NumPy arrays works. A check that calls the
function only eagerly would pass code that cannot train; these helpers call it as training
does, so the quick checks (`grade --quick`, `pack`) see the failure too.
"""
import numpy as np


def in_graph(function, *arrays, dtypes=None):
    """function(*tensors) traced in a tf.function on symbolic tensors of the arrays' shapes,
    then run; the result as NumPy (tuples and lists kept). `dtypes`: one dtype per array, as
    training passes it (`fit` casts the targets of a loss to float32), else each array's own."""
    import tensorflow as tf

    dtypes = dtypes or [None] * len(arrays)
    arrays = [np.asarray(a, dtype=d) for a, d in zip(arrays, dtypes)]
    specs = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)) for a in arrays]
    result = tf.function(function, input_signature=specs)(*arrays)
    return tf.nest.map_structure(lambda t: np.asarray(t), result)
