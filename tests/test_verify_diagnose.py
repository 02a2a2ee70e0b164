"""Tests for symdl.verify.diagnose: planted bugs, false-diagnosis guards, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from symdl.errors import ShapeError, UnknownNameError
from symdl.strategies import shapes as array_shapes
from symdl.verify.diagnose import KINDS, Finding, describe_factor, diagnose

RTOL = 1e-8
SHAPES = [(), (5,), (3, 3), (3, 5), (5, 3)]
MATRIX_SHAPES = [(4, 4), (3, 5), (5, 3)]


def _truths(shape, seed=0, points=3):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for _ in range(points)]


def _edit(arrays_, edit):
    """Apply ``edit(k, a)`` in place to a copy of each array."""
    out = []
    for k, a in enumerate(arrays_):
        a = a.copy()
        edit(k, a)
        out.append(a)
    return out


def _kinds(findings):
    return [f.kind for f in findings]


# ---------------------------------------------------------------- planted bugs, by kind


@pytest.mark.parametrize("shape", SHAPES)
def test_correct_claim_gives_nothing(shape):
    t = _truths(shape)
    assert diagnose(t, t) == ()
    close = [a * (1 + 1e-12) for a in t]
    assert diagnose(close, t) == ()


@pytest.mark.parametrize("shape", SHAPES)
def test_sign_flip(shape):
    t = _truths(shape)
    (f,) = diagnose([-a for a in t], t)
    assert (f.kind, f.factor) == ("sign-flip", -1.0)
    assert "wrong sign" in f.message


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("c", "text"),
    [
        (0.5, "1/2"),
        (2.0, "2"),
        (1 / 32, "1/32 (one over 32, e.g. 1/batch)"),
        (-3.0, "-3"),
        (1.5, "3/2"),
        (1.37, "1.37"),
    ],
)
def test_constant_factor(shape, c, text):
    t = _truths(shape)
    (f,) = diagnose([c * a for a in t], t)
    assert f.kind == "constant-factor"
    assert f.factor == pytest.approx(c, rel=1e-12)
    assert f.message == f"the claim equals {text} times the true gradient"


def test_constant_factor_must_be_the_same_at_every_point():
    t = _truths((3, 4))
    assert "constant-factor" not in _kinds(diagnose([2 * t[0], 3 * t[1], 2 * t[2]], t))


def test_one_scalar_observation_is_no_evidence_of_a_factor():
    # Any claim is c times the truth for some c when there is a single number to compare.
    assert diagnose([np.array(0.7)], [np.array(0.3)]) == ()


@pytest.mark.parametrize("shape", SHAPES)
def test_zero(shape):
    t = _truths(shape)
    (f,) = diagnose([np.zeros(shape) for _ in t], t)
    assert f.kind == "zero"


@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize(("c", "factor"), [(1.0, None), (-1.0, -1.0), (2.0, 2.0), (0.5, 0.5)])
def test_transpose(n, c, factor):
    t = _truths((n, n))
    (f,) = diagnose([c * a.T for a in t], t)
    assert (f.kind, f.factor) == ("transpose", factor)
    assert "transposed" in f.message
    if c == -1.0:
        assert "minus" in f.message


def test_transpose_of_a_non_square_gradient_has_the_swapped_shape():
    t = _truths((2, 3))
    (f,) = diagnose([a.T for a in t], t)
    assert f.kind == "transpose"
    assert "3x2" in f.message


def test_symmetric_true_gradient_is_never_called_transposed():
    sym = [a + a.T for a in _truths((4, 4))]
    assert diagnose([a.T for a in sym], sym) == ()
    (f,) = diagnose([2 * a.T for a in sym], sym)
    assert f.kind == "constant-factor"


def test_antisymmetric_transpose_is_a_sign_flip():
    anti = [a - a.T for a in _truths((3, 3))]
    assert _kinds(diagnose([a.T for a in anti], anti)) == ["sign-flip"]


@pytest.mark.parametrize("shape", MATRIX_SHAPES)
def test_row(shape):
    t = _truths(shape)
    claimed = _edit(t, lambda k, a: a.__setitem__(1, a[1] + 1.0 + k))
    (f,) = diagnose(claimed, t)
    assert (f.kind, f.where) == ("row", (1,))
    assert f.message == "the error is confined to row 1"


@pytest.mark.parametrize("shape", MATRIX_SHAPES)
def test_column_with_wrong_sign(shape):
    t = _truths(shape)
    claimed = _edit(t, lambda k, a: a.__setitem__((slice(None), 2), -a[:, 2]))
    (f,) = diagnose(claimed, t)
    assert (f.kind, f.where, f.factor) == ("column", (2,), -1.0)
    assert "wrong sign" in f.message


@pytest.mark.parametrize("shape", MATRIX_SHAPES)
def test_diagonal(shape):
    t = _truths(shape)
    (f,) = diagnose([a + np.eye(*shape) for a in t], t)
    assert (f.kind, f.where) == ("diagonal", (0, 0))


@pytest.mark.parametrize(
    ("shape", "bad", "text"),
    [
        ((10,), [(2,), (7,)], "entries 2, 7"),
        ((4, 4), [(0, 1), (2, 3)], "entries (0, 1), (2, 3)"),
        ((3, 5), [(1, 4)], "entry (1, 4)"),
        ((6, 6), [(0, 1), (1, 2), (2, 0), (3, 5), (5, 4)], "entries (0, 1), (1, 2), (2, 0)"),
    ],
)
def test_entries(shape, bad, text):
    t = _truths(shape)

    def plant(k, a):
        for ix in bad:
            a[ix] += 0.25 * (k + 1)

    (f,) = diagnose(_edit(t, plant), t)
    assert (f.kind, f.where) == ("entries", bad[0])
    assert text in f.message


@pytest.mark.parametrize(
    ("shape", "bad", "second"),
    [
        ((6,), [(4,)], "entries"),
        ((4, 4), [(0, 3), (3, 1)], "entries"),
        ((3, 5), [(2, j) for j in range(5)], "row"),
        ((4, 4), [(i, i) for i in range(4)], "diagonal"),
    ],
)
def test_missing_term(shape, bad, second):
    t = _truths(shape)

    def plant(k, a):
        for ix in bad:
            a[ix] = 0.0

    found = diagnose(_edit(t, plant), t)
    assert _kinds(found) == ["missing-term", second]
    assert found[0].where == bad[0]
    assert "is 0 where the true gradient is not" in found[0].message


def test_missing_term_of_a_scalar_gradient_counts_points():
    t = _truths((), points=4)
    claimed = [a if k % 2 else np.array(0.0) for k, a in enumerate(t)]
    (f,) = diagnose(claimed, t)
    assert (f.kind, f.where) == ("missing-term", ())
    assert "2 of 4 sample points" in f.message


def test_location_must_be_the_same_at_every_point():
    t = _truths((4, 4))
    claimed = _edit(t, lambda k, a: a.__setitem__(k, a[k] + 1.0))
    assert "row" not in _kinds(diagnose(claimed, t))


# ---------------------------------------------------------------- proportional to an input


def _points_with_inputs(shape, seed=1, points=4):
    rng = np.random.default_rng(seed)
    t = [rng.normal(size=shape) for _ in range(points)]
    ins = [
        {"x": np.array(rng.uniform(0.5, 3.0)), "W": rng.uniform(0.5, 2.0, size=shape)}
        for _ in range(points)
    ]
    return t, ins


@pytest.mark.parametrize("shape", [(), (4,), (3, 2)])
@pytest.mark.parametrize(
    ("model", "power", "factor", "text"),
    [
        (lambda t, v: t * v, 1.0, 1.0, "the claim has an extra factor of x"),
        (lambda t, v: t / v, -1.0, 1.0, "the claim is missing a factor of x"),
        (lambda t, v: t / v**2, -2.0, 1.0, "the claim is missing a factor of x**2"),
        (lambda t, v: 2 * t * v**2, 2.0, 2.0, "2 times the true gradient times x**2"),
    ],
)
def test_proportional_to_a_scalar_input(shape, model, power, factor, text):
    t, ins = _points_with_inputs(shape)
    claimed = [model(a, i["x"]) for a, i in zip(t, ins, strict=True)]
    found = diagnose(claimed, t, inputs=ins)
    assert found[0].kind == "proportional-to-input"
    assert (found[0].input, found[0].power, found[0].factor) == ("x", power, factor)
    assert text in found[0].message


@pytest.mark.parametrize("shape", [(4,), (3, 2)])
def test_proportional_to_an_input_array_elementwise(shape):
    t, ins = _points_with_inputs(shape)
    (f,) = diagnose([a / i["W"] for a, i in zip(t, ins, strict=True)], t, inputs=ins)
    assert (f.kind, f.input, f.power) == ("proportional-to-input", "W", -1.0)
    assert f.message == "the claim is missing an elementwise factor of W"


def test_proportional_needs_the_inputs():
    t, ins = _points_with_inputs((3,))
    claimed = [a * i["x"] for a, i in zip(t, ins, strict=True)]
    assert "proportional-to-input" not in _kinds(diagnose(claimed, t))


# ---------------------------------------------------------------- no false diagnoses


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", range(8))
def test_unrelated_claims_give_nothing(shape, seed):
    t, ins = _points_with_inputs(shape, seed=seed)
    claimed = _truths(shape, seed=1000 + seed, points=len(t))
    assert diagnose(claimed, t, inputs=ins) == ()


def test_non_finite_points_are_ignored():
    t = _truths((3,))
    claimed = [-a for a in t]
    claimed[1] = np.full(3, np.nan)
    assert _kinds(diagnose(claimed, t)) == ["sign-flip"]
    assert diagnose([np.full(3, np.inf)], [np.ones(3)]) == ()


def test_mismatched_shapes_and_lengths_raise():
    with pytest.raises(ShapeError):
        diagnose([np.zeros(3)], [np.zeros(4)])
    with pytest.raises(ShapeError):
        diagnose([np.zeros(3)], [np.zeros(3), np.zeros(3)])
    with pytest.raises(ShapeError):
        diagnose([np.zeros(3)], [np.zeros(3)], inputs=[{}, {}])


def test_finding_kinds_are_checked():
    with pytest.raises(UnknownNameError, match="sign-flip"):
        Finding("sign-flop", "nothing")


# ---------------------------------------------------------------- describe_factor


@pytest.mark.parametrize(
    ("c", "text"),
    [
        (0.5, "1/2"),
        (-0.5, "-1/2"),
        (2.0, "2"),
        (-1.0, "-1"),
        (0.0, "0"),
        (1 / 32, "1/32 (one over 32, e.g. 1/batch)"),
        (-1 / 64, "-1/64 (minus one over 64, e.g. -1/batch)"),
        (1 / 3, "1/3 (one over 3, e.g. 1/batch)"),
        (1.5, "3/2"),
        (-2 / 3, "-2/3"),
        (5 / 12, "5/12"),
        (0.123456789, "0.123457"),
        (np.pi, "3.14159"),
        (1e30, "1e+30"),
        (0.5000001, "0.5000001"),  # "%.6g" would print a misleading "0.5"
    ],
)
def test_describe_factor(c, text):
    assert describe_factor(c) == text


# ---------------------------------------------------------------- properties


# Entries are 0 or of magnitude in [1e-3, 1e3]: a planted factor then never underflows,
# and every non-zero entry is significant at rtol = 1e-8.
_ELEMENTS = st.one_of(
    st.just(0.0),
    st.floats(1e-3, 1e3),
    st.floats(-1e3, -1e-3),
)


@st.composite
def _gradients(draw, shapes=None):
    # any scalar, vector or matrix shape (symdl's own strategy), or one of ``shapes``
    strategy = array_shapes(max_side=6) if shapes is None else st.sampled_from(shapes)
    shape = draw(strategy)
    n = draw(st.integers(1, 3))
    return [draw(arrays(np.float64, shape, elements=_ELEMENTS)) for _ in range(n)]


def _close(a, b):
    scale = max(np.max(np.abs(b), initial=0.0), np.max(np.abs(a), initial=0.0))
    return bool(np.all(np.abs(a - b) <= 1e-6 * scale))


def _n_nonzero(ts):
    return sum(int(np.count_nonzero(t)) for t in ts)


def _holds(f, cs, ts):
    """An independent, looser re-check that a finding is true of the data."""
    if f.kind in ("zero", "sign-flip", "constant-factor"):
        return all(_close(c, f.factor * t) for c, t in zip(cs, ts, strict=True))
    if f.kind == "transpose":
        c0 = 1.0 if f.factor is None else f.factor
        return all(_close(c, c0 * t.T) for c, t in zip(cs, ts, strict=True))
    bad = np.logical_or.reduce(
        [np.abs(c - t) > RTOL * np.max(np.abs(t)) for c, t in zip(cs, ts, strict=True)]
    )
    outside = bad.copy()
    if f.kind == "missing-term":
        return all(
            np.all(np.abs(c[np.abs(c - t) > RTOL * np.max(np.abs(t))]) <= RTOL * np.max(np.abs(t)))
            for c, t in zip(cs, ts, strict=True)
        )
    if f.kind == "row":
        outside[f.where[0]] = False
    elif f.kind == "column":
        outside[:, f.where[0]] = False
    elif f.kind == "diagonal":
        outside[np.eye(*bad.shape, dtype=bool)] = False
    elif f.kind == "entries":
        return 0 < np.count_nonzero(bad) <= 5 and bool(bad[f.where])
    return not outside.any()


@settings(max_examples=60, deadline=None)
@given(_gradients(), st.data())
def test_correct_claims_are_never_diagnosed(ts, data):
    noise = data.draw(st.floats(-1e-10, 1e-10))
    assert diagnose(ts, ts) == ()
    assert diagnose([t * (1 + noise) for t in ts], ts) == ()


@settings(max_examples=60, deadline=None)
@given(_gradients())
def test_planted_sign_flip_is_always_diagnosed(ts):
    assume(_n_nonzero(ts) > 0)
    assert _kinds(diagnose([-t for t in ts], ts)) == ["sign-flip"]


@settings(max_examples=60, deadline=None)
@given(_gradients(), st.sampled_from([0.5, 2.0, 3.0, -2.0, 1 / 32, 0.25, 1.5, -1 / 3, 10.0]))
def test_planted_factor_is_always_diagnosed(ts, c):
    assume(_n_nonzero(ts) >= 2)
    (f,) = diagnose([c * t for t in ts], ts)
    assert f.kind == "constant-factor"
    assert f.factor == pytest.approx(c, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(_gradients([(2, 2), (3, 3)]), st.sampled_from([1.0, -1.0, 2.0, 0.5]))
def test_planted_transpose_is_always_diagnosed(ts, c):
    assume(any(not _close(t, t.T) for t in ts))
    assume(any(not _close(t, -t.T) for t in ts))
    assume(c in (1.0, -1.0) or _n_nonzero(ts) >= 2)
    (f,) = diagnose([c * t.T for t in ts], ts)
    assert f.kind == "transpose"
    assert (1.0 if f.factor is None else f.factor) == c


@settings(max_examples=120, deadline=None)
@given(_gradients(), st.booleans(), st.data())
def test_every_finding_is_true_of_the_data(ts, patched, data):
    # Claims unrelated to the truth, or the truth with random entries replaced: whatever
    # is reported must hold.
    cs = [data.draw(arrays(np.float64, t.shape, elements=_ELEMENTS)) for t in ts]
    if patched:
        masks = [data.draw(arrays(np.bool_, t.shape)) for t in ts]
        cs = [np.where(m, c, t) for m, c, t in zip(masks, cs, ts, strict=True)]
    found = diagnose(cs, ts)
    assert all(f.kind in KINDS for f in found)
    for f in found:
        assert _holds(f, cs, ts), f
