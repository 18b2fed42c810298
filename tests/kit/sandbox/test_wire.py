"""The grader reads student results only through this codec: it must round-trip plain data
exactly and refuse anything else (unpickling would let a student run code in the grader)."""
import numpy as np
import pytest

from rnnkit.sandbox import wire


def test_round_trip_keeps_values_dtypes_and_shapes():
    data = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": [1, 2.5, None, True, "s"],
            "c": {"nested": np.array([np.nan, np.inf, -0.0])}, "d": np.int64(7),
            "e": np.zeros((0, 3), dtype=np.int16), "f": (np.bool_(True), np.float64(1e-300))}
    back = wire.decode(wire.encode(data))
    np.testing.assert_array_equal(back["a"], data["a"])
    assert back["a"].dtype == np.float32 and back["a"].flags.writeable
    assert back["b"] == [1, 2.5, None, True, "s"]
    np.testing.assert_array_equal(back["c"]["nested"], data["c"]["nested"])
    assert back["d"] == 7 and back["e"].shape == (0, 3) and back["e"].dtype == np.int16
    assert bool(back["f"][0]) is True and back["f"][1] == 1e-300


@pytest.mark.parametrize("value", [object(), np.array(["text"]), np.array([{}], dtype=object),
                                   {1: "non-str key"}, b"bytes", lambda: 0])
def test_refuses_what_is_not_plain_data(value):
    with pytest.raises(wire.WireError):
        wire.encode({"x": value})


def test_malformed_messages_are_refused_not_trusted():
    good = wire.encode({"x": np.arange(4.0)})
    with pytest.raises(wire.WireError):
        wire.decode(good[:-8])          # array bytes cut short
    with pytest.raises(wire.WireError):
        wire.decode(b"\x00\x00\x00\x05{bad")
    header = b'{"x": {"__ndarray__": ["|O8", [1], 0, 8]}}'   # an object array, forged
    with pytest.raises(wire.WireError):
        wire.decode(len(header).to_bytes(4, "big") + header + b"\0" * 8)


def test_array_entries_pointing_at_the_same_bytes_are_refused():
    """A forged header cannot make the grader copy the same bytes again and again: entries
    must follow one another, so the arrays rebuilt never exceed the message (issue 7, 13)."""
    size = 1 << 20
    entry = {"__ndarray__": ["<f8", [size // 8], 0, size]}
    header = json_bytes({"x": [entry] * 64})
    with pytest.raises(wire.WireError, match="overlap"):
        wire.decode(len(header).to_bytes(4, "big") + header + b"\0" * size)


def test_a_header_past_the_readers_limits_is_refused_before_it_is_decoded():
    """`[[],[],...]` is ~50 bytes of Python objects per byte once decoded (issue 23): past
    the byte limit, or within it but past the count of brackets and commas, it is refused
    without json.loads; a legitimate reply (the largest a solution sends, in ex09: 6,854
    bytes, 952 brackets and commas) is far inside both."""
    limits = dict(max_header=wire.MAX_REPLY_HEADER_BYTES, max_items=wire.MAX_REPLY_HEADER_ITEMS)

    def nested(count):
        header = b"[" + b"[]," * (count - 1) + b"[]]"
        return len(header).to_bytes(4, "big") + header

    too_long = nested(wire.MAX_REPLY_HEADER_BYTES // 3 + 1)
    with pytest.raises(wire.OverBudget, match=r"^a structured part of 1,048,579 bytes, over the "
                                              r"1,048,576 the grader reads"):
        wire.decode(too_long, **limits)
    many = wire.MAX_REPLY_HEADER_ITEMS // 2 + 1          # 2 counted per `[],`
    assert len(nested(many)) < wire.MAX_REPLY_HEADER_BYTES
    with pytest.raises(wire.OverBudget, match=rf"^more than 65,536 lists, dicts and elements "
                                              rf"outside arrays \({2 * many:,};"):
        wire.decode(nested(many), **limits)
    assert len(wire.decode(nested(many))) == many      # the reader without limits decodes it
    assert len(wire.decode(nested(many - 1), **limits)) == many - 1
    reply = {"status": "ok", "result": {"losses": [0.5] * 200, "words": ["a [b], {c}"] * 20,
                                        "h": np.zeros((64, 128))}}
    back = wire.decode(wire.encode(reply), **limits)
    assert back["result"]["words"] == reply["result"]["words"]


def test_lone_surrogates_arrive_printable():
    header = b'{"message": "\\ud800 boom", "\\udfff": 1}'
    back = wire.decode(len(header).to_bytes(4, "big") + header)
    assert back == {"message": "\\ud800 boom", "\\udfff": 1}
    for text in list(back) + [back["message"]]:
        text.encode("utf-8")          # would raise UnicodeEncodeError on a lone surrogate


def json_bytes(value) -> bytes:
    import json

    return json.dumps(value).encode()
