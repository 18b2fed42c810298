"""Stubs are recognised by their structure, never by their message (issue 25): an erratum
changes a docstring, the message release writes into a stub quotes it, and the stubs of a
kit a student started from must still be *not started* under the new kit. Under 1 s;
tests/kit/tools/test_term.py grades such a stub end to end."""
from conftest import KIT_ROOT

from rnnkit.course import BY_ID


def test_a_stub_is_recognised_by_its_structure_not_its_message():
    """An erratum changes a docstring, and with it the message release writes into the stub:
    the stub a student's kit holds from the earlier release must still be a stub."""
    from rnnkit.grader import stubs

    exercise = BY_ID["ex02"]
    released = (KIT_ROOT / "exercises" / exercise.filename).read_text()
    functions = [name for name, _ in stubs.stubs_of(exercise)]
    older = released.replace("raise NotImplementedError('", "raise NotImplementedError('(0.1) ")
    assert older != released and stubs.untouched(older, functions)
    assert stubs.is_stub_raise("        raise NotImplementedError('rnn_step_forward: an older "
                               "docstring')")
    assert stubs.is_stub_raise('raise NotImplementedError("double quotes, any text")')
    # written code is not a stub, whatever it raises
    assert not stubs.is_stub_raise("raise NotImplementedError")
    assert not stubs.is_stub_raise("raise NotImplementedError(f'{name} is left')")
    assert not stubs.is_stub_raise("raise ValueError('rnn_step_forward')")
    solution = (KIT_ROOT / "solutions" / exercise.filename).read_text()
    assert not stubs.untouched(solution, functions)
    one_done = released.replace("raise NotImplementedError('rnn_step_forward", "return None  #", 1)
    assert one_done != released and not stubs.untouched(one_done, functions)
