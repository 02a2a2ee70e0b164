"""Numeric edge cases of every generated function, and of the checkers that consume them.

The documented behaviour of the catalogue's generated code (``activation_code``,
``loss_code``): inputs of any float dtype are computed in float64 and returned as float64;
±0 and subnormals give finite results; ±inf gives the limit; nan propagates; empty arrays
give empty arrays of the same shape; shapes are kept; nothing raises a floating-point
warning other than IEEE underflow to a subnormal or zero (which NumPy ignores by default).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symdl
from symdl.catalog import ACTIVATIONS
from symdl.catalog.code import activation_code
from symdl.catalog.loss_code import loss_code, targets
from symdl.catalog.losses import LOSSES
from symdl.errors import UnsupportedError

EDGES = np.array([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.0, -3.0, 40.0])
SPECIAL = np.array([np.inf, -np.inf, np.nan])

SCALAR_ACTIVATIONS = [e.name for e in ACTIVATIONS if not e.vector]
CODES = [
    (f"{name}{'′' if d else ''}", name, d) for name in SCALAR_ACTIVATIONS for d in (False, True)
]
LOSS_CODES = [
    (f"{e.name}(y={y}){'′' if d else ''}", e.name, y, d)
    for e in LOSSES
    if not e.vector
    for y in targets(e.name)
    for d in (False, True)
]


def _strict():
    """Overflow, invalid operations and division by zero raise; underflow is IEEE's own."""
    return np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")


def _activation(name: str, derivative: bool):
    return activation_code(name, derivative=derivative)


def _in_domain(f, x: np.ndarray) -> np.ndarray:
    """``x`` without the points where the (loss) function has no value (bce off (0, 1))."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keep = np.isfinite(np.asarray(f(x), dtype=float)) | np.isinf(x)
    return x[keep]


@pytest.mark.parametrize(("label", "name", "derivative"), CODES, ids=[c[0] for c in CODES])
def test_activation_edges(label, name, derivative):
    f = _activation(name, derivative)
    with warnings.catch_warnings(), _strict():
        warnings.simplefilter("error")
        out = np.asarray(f(EDGES))
        special = np.asarray(f(SPECIAL))
    assert out.dtype == np.float64 and out.shape == EDGES.shape
    assert np.all(np.isfinite(out)), f"{label}: {out}"
    assert np.isnan(special[2]), f"{label}: nan did not propagate"
    assert not np.isnan(special[:2]).any(), f"{label}: ±inf gave nan: {special}"


@pytest.mark.parametrize(("label", "name", "derivative"), CODES, ids=[c[0] for c in CODES])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_inputs_are_computed_in_float64(label, name, derivative, dtype):
    f = _activation(name, derivative)
    x = np.array([-8.0, -1.5, -0.25, 0.0, 0.5, 2.0, 7.0], dtype=dtype)
    with warnings.catch_warnings(), _strict():
        warnings.simplefilter("error")
        low = np.asarray(f(x))
    assert low.dtype == np.float64
    np.testing.assert_array_equal(low, np.asarray(f(x.astype(np.float64))))


@pytest.mark.parametrize(("label", "name", "derivative"), CODES, ids=[c[0] for c in CODES])
def test_empty_and_shaped_arrays(label, name, derivative):
    f = _activation(name, derivative)
    with warnings.catch_warnings(), _strict():
        warnings.simplefilter("error")
        empty = np.asarray(f(np.zeros((0, 3))))
        grid = np.linspace(-5, 5, 12).reshape(3, 4)
        shaped = np.asarray(f(grid))
        flat = np.asarray(f(grid.ravel()))
    assert empty.shape == (0, 3)
    assert shaped.shape == (3, 4)
    np.testing.assert_array_equal(shaped.ravel(), flat)


@pytest.mark.parametrize(
    ("label", "name", "derivative"), CODES[::5], ids=[c[0] for c in CODES[::5]]
)
def test_a_large_array_is_quiet(label, name, derivative):
    f = _activation(name, derivative)
    x = np.linspace(-800.0, 800.0, 1_000_001)
    with warnings.catch_warnings(), _strict():
        warnings.simplefilter("error")
        out = np.asarray(f(x))
    assert out.shape == x.shape and np.all(np.isfinite(out))


@pytest.mark.parametrize(
    ("label", "name", "y", "derivative"), LOSS_CODES, ids=[c[0] for c in LOSS_CODES]
)
def test_loss_edges(label, name, y, derivative):
    f = loss_code(name, y, gradient=derivative)
    x = _in_domain(f, np.concatenate([EDGES, [0.5, 1 - 2.0**-52]]))
    with warnings.catch_warnings(), _strict():
        warnings.simplefilter("error")
        out = np.asarray(f(x))
        exact = x[x.astype(np.float32) == x]  # 1 − 2⁻⁵² rounds to 1 in float32
        low = np.asarray(f(exact.astype(np.float32)))
        nan = np.asarray(f(np.array([np.nan])))
        empty = np.asarray(f(np.zeros((0,))))
    assert out.dtype == np.float64 and np.all(np.isfinite(out)), f"{label}: {out}"
    assert low.dtype == np.float64
    assert np.isnan(nan).all()
    assert empty.shape == (0,)


# ---- the checkers report on edge-case inputs rather than crash ----------------------------


def _loss(w):
    return float(np.sum(np.tanh(w) ** 2))


def _grad(w):
    return 2 * np.tanh(w) * (1 - np.tanh(w) ** 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_gradcheck_refuses_a_non_finite_point_with_a_clear_error(bad):
    with pytest.raises(UnsupportedError, match=r"argument 0 must be finite.*at \[0, 1\]"):
        symdl.gradcheck(_loss, _grad, np.array([[1.0, bad]]))


def test_gradcheck_on_an_empty_array_has_nothing_to_refute():
    assert symdl.gradcheck(_loss, _grad, np.zeros((0, 3))).verdict == "verified"


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_gradcheck_upcasts_low_precision_and_says_so(dtype):
    w = np.array([0.5, -0.25, 1.5], dtype=dtype)
    with pytest.warns(symdl.PrecisionWarning, match="upcast to float64"):
        report = symdl.gradcheck(_loss, _grad, w)
    assert report.verdict == "verified"
    assert any("upcast" in note for note in report.notes)


def test_gradcheck_at_signed_zeros_and_subnormals():
    w = np.array([0.0, -0.0, 5e-324, -5e-324])
    assert symdl.gradcheck(_loss, _grad, w).verdict == "verified"
    wrong = symdl.gradcheck(_loss, lambda v: _grad(v) + 1.0, w)
    assert wrong.verdict == "refuted"


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_sampled_gradcheck_refuses_a_non_finite_point_too(bad):
    with pytest.raises(UnsupportedError, match=r"argument 0 must be finite"):
        symdl.sampled_gradcheck(_loss, _grad, np.array([[1.0, bad]]))
