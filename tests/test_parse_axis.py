"""``axis=`` in the input language: what it parses to, how it prints back, what it refuses.

The only keyword argument is ``axis=`` with an integer literal, for ``sum``, ``mean``,
``softmax``, ``log_softmax`` and ``logsumexp``; arrays are 2-D (vectors are columns), so
``axis=1`` reduces each row and ``axis=0`` each column, keeping the reduced axis.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from symdl.codegen import numpy_function
from symdl.errors import ParseError, ShapeError, SymdlError
from symdl.explicit import Instance
from symdl.nodes import AxisLogSumExp
from symdl.parse import parse
from symdl.shapes import Scope, dim_symbol, shape_of
from symdl.unparse import to_text

SHAPES = {"A": "n x m", "B": "m x m", "C": "2x3", "x": "n", "Q": "n x k", "K": "m x k"}
n, m = dim_symbol("n"), dim_symbol("m")


def caret_column(message: str) -> int:
    return message.splitlines()[-1].index("^") - 2


@pytest.mark.parametrize(
    "text, shape",
    [
        ("sum(A, axis=1)", (n, 1)),
        ("sum(A, axis=-1)", (n, 1)),
        ("sum(A, axis=0)", (1, m)),
        ("sum(A, axis=-2)", (1, m)),
        ("mean(A, axis=1)", (n, 1)),
        ("mean(A, axis=0)", (1, m)),
        ("logsumexp(A, axis=1)", (n, 1)),
        ("logsumexp(A, axis=0)", (1, m)),
        ("softmax(A, axis=1)", (n, m)),
        ("log_softmax(A, axis=0)", (n, m)),
        ("sum(x, axis=0)", (1, 1)),
        ("softmax(Q @ K.T, axis=-1)", (n, m)),
    ],
)
def test_the_reduced_axis_is_kept(text, shape):
    assert shape_of(parse(text, SHAPES)) == shape


def test_negative_axes_name_the_same_axis():
    for last, first in [("-1", "1"), ("-2", "0")]:
        for f in ("sum", "mean", "softmax", "log_softmax", "logsumexp"):
            assert parse(f"{f}(A, axis={last})", SHAPES) == parse(f"{f}(A, axis={first})", SHAPES)


def test_the_parsed_forms_are_the_textbook_ones():
    A = parse("A", SHAPES)
    assert parse("sum(A, axis=1)", SHAPES) == sp.MatMul(A, sp.OneMatrix(m, 1))
    assert parse("sum(A, axis=0)", SHAPES) == sp.MatMul(sp.OneMatrix(1, n), A)
    lse = parse("logsumexp(A, axis=1)", SHAPES)
    assert lse == AxisLogSumExp(A, 1)
    assert parse("log_softmax(A, axis=1)", SHAPES) == sp.MatAdd(
        A, sp.MatMul(-1, lse, sp.OneMatrix(1, m))
    )


ROW_CASES = [
    # text, entry (i, j) of the 2×3 matrix C written out, as a function of the entries
    ("sum(C, axis=1)", lambda c, i, j: sum(c[i, k] for k in range(3))),
    ("sum(C, axis=0)", lambda c, i, j: sum(c[k, j] for k in range(2))),
    ("mean(C, axis=1)", lambda c, i, j: sum(c[i, k] for k in range(3)) / 3),
    ("mean(C, axis=0)", lambda c, i, j: sum(c[k, j] for k in range(2)) / 2),
    ("logsumexp(C, axis=1)", lambda c, i, j: sp.log(sum(sp.exp(c[i, k]) for k in range(3)))),
    ("logsumexp(C, axis=0)", lambda c, i, j: sp.log(sum(sp.exp(c[k, j]) for k in range(2)))),
    (
        "softmax(C, axis=1)",
        lambda c, i, j: sp.exp(c[i, j]) / sum(sp.exp(c[i, k]) for k in range(3)),
    ),
    (
        "softmax(C, axis=0)",
        lambda c, i, j: sp.exp(c[i, j]) / sum(sp.exp(c[k, j]) for k in range(2)),
    ),
    (
        "log_softmax(C, axis=1)",
        lambda c, i, j: c[i, j] - sp.log(sum(sp.exp(c[i, k]) for k in range(3))),
    ),
    (
        "log_softmax(C, axis=0)",
        lambda c, i, j: c[i, j] - sp.log(sum(sp.exp(c[k, j]) for k in range(2))),
    ),
]


@pytest.mark.parametrize("text, entry", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_each_entry_is_the_numpy_formula(text, entry):
    scope = Scope.build(SHAPES)
    inst = Instance.build(scope, {}, {"C"})
    c = inst.entries["C"]
    got = inst.lower(parse(text, scope=scope))
    assert got.shape == shape_of(parse(text, scope=scope))
    for i in range(got.rows):
        for j in range(got.cols):
            assert sp.simplify(got[i, j] - entry(c, i, j)) == 0


@pytest.mark.parametrize("text, entry", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_generated_code_is_numpy_along_the_axis(text, entry):
    rng = np.random.default_rng(3)
    C = rng.normal(size=(2, 3))
    got = np.asarray(numpy_function(parse(text, SHAPES), ["C"])(C), dtype=float)
    name, axis = re.fullmatch(r"(\w+)\(C, axis=(\d)\)", text).groups()
    axis = int(axis)
    from scipy import special

    want = {
        "sum": lambda: C.sum(axis=axis, keepdims=True),
        "mean": lambda: C.mean(axis=axis, keepdims=True),
        "logsumexp": lambda: special.logsumexp(C, axis=axis, keepdims=True),
        "softmax": lambda: special.softmax(C, axis=axis),
        "log_softmax": lambda: special.log_softmax(C, axis=axis),
    }[name]()
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


ROUND_TRIP = [
    "sum(A, axis=1)",
    "sum(A, axis=0)",
    "mean(A, axis=1)",
    "mean(A, axis=0)",
    "mean(C, axis=0)",
    "logsumexp(A, axis=1)",
    "logsumexp(A, axis=0)",
    "softmax(A, axis=1)",
    "softmax(A, axis=0)",
    "log_softmax(A, axis=1)",
    "log_softmax(C, axis=0)",
    "sum(A @ B, axis=1)",
    "2*sum(A, axis=0)",
    "sum(2*A, axis=1)",
    "sum(sum(A, axis=0), axis=1)",
    "sum(softmax(Q @ K.T / sqrt(d), axis=1) @ B)",
    "-sum(log_softmax(C, axis=1) * C)",
    "exp(logsumexp(A, axis=0)) @ B",
    "sum(A, axis=1) @ ones_like(sum(A, axis=0))",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_round_trip_through_text(text):
    e = parse(text, SHAPES)
    printed = to_text(e)
    assert parse(printed, SHAPES) == e, printed
    if "axis=" in text:
        assert "axis=" in printed


def test_negative_axes_print_as_their_positive_form():
    assert to_text(parse("softmax(A, axis=-1)", SHAPES)) == "softmax(A, axis=1)"
    assert to_text(parse("mean(A, axis=-2)", SHAPES)) == "mean(A, axis=0)"


REJECTED = [
    # text, error class, fragment of the message, caret column
    ("sum(A, axis=2)", ParseError, "axis 2 is out of range for a 2-D array", 7),
    ("softmax(A, axis=-3)", ParseError, "axis -3 is out of range", 11),
    ("sum(d, axis=1)", ParseError, "axis=1 needs an array, but the argument is a scalar", 7),
    ("logsumexp(2, axis=0)", ParseError, "needs an array", 13),
    ("sum(A, axis=k)", ParseError, "axis must be an integer literal", 12),
    ("sum(A, axis=1 + 0)", ParseError, "axis must be an integer literal", 12),
    ("sum(A, axis=1.0)", ParseError, "axis must be an integer literal", 12),
    ("sum(A, axis=True)", ParseError, "axis must be an integer literal", 12),
    ("sum(A, axis=-k)", ParseError, "axis must be an integer literal", 12),
    ("sum(A, keepdims=1)", ParseError, "the only keyword argument is axis=", 15),
    ("softmax(A, dim=1)", ParseError, "character '='", 14),
    ("exp(x=1)", ParseError, "character '='", 5),
    ("sum(x, start=1)", ParseError, "character '='", 12),
    ("exp(A, axis=1)", ParseError, "exp() takes no axis= argument", 7),
    ("tr(B, axis=1)", ParseError, "tr() takes no axis= argument", 6),
    ("sum(A, axis=1, axis=0)", ParseError, "takes one keyword argument", 15),
    ("sum(A, **k)", ParseError, "unpacking (**) is not allowed", 7),
    ("sum(A, axis==1)", ParseError, "character '='", 11),
    ("sum(A == 1)", ParseError, "character '='", 6),
    ("sum(A, 1)", ParseError, "sum() takes 1 argument, got 2", 0),
    ("sum(A, axis=__import__)", ParseError, "axis must be an integer literal", 12),
    # reducing an axis of length 1 (a column vector's rows) is refused, not all ones
    ("softmax(x, axis=1)", ShapeError, "reduces an axis of length 1", 0),
    ("sum(x, axis=-1)", ShapeError, "vectors are columns", 0),
]


@pytest.mark.parametrize("text, error, fragment, col", REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_text(text, error, fragment, col):
    with pytest.raises(error) as info:
        parse(text, SHAPES)
    message = str(info.value)
    assert fragment in message
    assert caret_column(message) == col
    assert message.splitlines()[-2] == "  " + text
    assert isinstance(info.value, SymdlError)


def test_leading_spaces_keep_the_caret_under_the_keyword():
    with pytest.raises(ParseError) as info:
        parse("   sum(A,  axis = 7)", SHAPES)
    assert caret_column(str(info.value)) == 11


def test_axis_is_a_plain_name_elsewhere():
    # 'axis' is only special as a keyword: as a variable it is a scalar like any other
    assert parse("axis + 1") == sp.Symbol("axis", real=True) + 1


def test_a_product_with_ones_that_is_no_sum_along_an_axis_has_no_text():
    # M @ 𝟏 printed as "M" (the broadcast-scalar reading of a trailing 𝟏) would be wrong
    A = parse("A", SHAPES)
    c = dim_symbol("c")
    for e in (sp.MatMul(A, sp.OneMatrix(m, c)), sp.MatMul(2, A, sp.OneMatrix(m, 1))):
        with pytest.raises(ValueError, match="no input-language form"):
            to_text(e)
    assert to_text(sp.MatMul(2, sp.OneMatrix(n, m))) == "2"  # a broadcast scalar still is
