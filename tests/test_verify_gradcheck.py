"""``gradcheck``: a user's NumPy gradient against finite differences, entry by entry.

One wrong entry in a thousand must be found and named (tolerances never grow with the
array size); a correct low-precision gradient must not be refuted; the diagnosis names
whole-array mistakes; bad input is a clear error, not a crash deep inside.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import symdl
from symdl import PrecisionWarning, SymdlError, gradcheck

# -- a 1,000-entry gradient with planted bugs ---------------------------------------------

_RNG = np.random.default_rng(20240611)
W0 = _RNG.normal(size=(25, 40))
C = _RNG.normal(size=40)
W0[5, 33] = 1.3  # the entry whose cubic term is dropped below: make that term large


def loss(W):
    r"""L(W) = Σ tanh(W)² + (Σ W c)² / 200 + Σ W³ / 10: elementwise and coupled terms."""
    return float(np.sum(np.tanh(W) ** 2) + np.sum(W @ C) ** 2 / 200 + np.sum(W**3) / 10)


def grad_loss(W, c=None):
    """The gradient, computed in the dtype of ``W`` (or of ``c`` where that is wider)."""
    c = C.astype(W.dtype) if c is None else c
    T = np.tanh(W)
    coupled = np.sum(W @ c) / 100 * np.ones_like(W[:, :1]) @ c[None, :]
    return 2 * T * (1 - T**2) + coupled + 3 * W**2 / 10


def _sign_flip(G, W):
    G[3, 7] = -G[3, 7]
    return G


def _dropped_term(G, W):
    G[5, 33] -= 3 * W[5, 33] ** 2 / 10
    return G


def _one_percent(G, W):
    G[10, 20] *= 1.01
    return G


@pytest.mark.parametrize(
    ("plant", "where"),
    [
        pytest.param(_sign_flip, (3, 7), id="sign-flip"),
        pytest.param(_dropped_term, (5, 33), id="dropped-term"),
        pytest.param(_one_percent, (10, 20), id="one-percent"),
    ],
)
def test_one_planted_bug_in_a_thousand_entries_is_found_and_named(plant, where):
    assert W0.size == 1000
    assert abs(grad_loss(W0)[where]) > 0.05  # the planted error is not hidden by a tiny entry
    report = gradcheck(loss, lambda W: plant(grad_loss(W), W), W0)
    assert report.verdict == "refuted", str(report)
    assert report.entries[0].index == where
    worst = report.entries[0]
    assert worst.abs_error > worst.tolerance
    # the other 999 entries are right: the next worst is within its tolerance
    assert all(e.abs_error <= e.tolerance for e in report.entries[1:])
    assert f"claimed[{where[0]},{where[1]}]" in report.diagnosis[0]
    assert f"the error is confined to entry {where}" in report.diagnosis
    assert "1 of 1000 entries outside the error bound" in report.evidence[0].detail
    assert np.array_equal(np.array(report.counterexample["arg0"]), W0)


def test_correct_float64_gradient_is_verified():
    W = W0[:4]  # the 1,000-entry float32 case below covers size; this one, float64 itself
    report = gradcheck(loss, grad_loss, W)
    assert report.verdict == "verified", str(report)
    assert report.notes == ()
    assert "all 160 entries within the error bound" in report.evidence[0].detail


def test_correct_float32_gradient_is_not_refuted_and_warns():
    W32 = W0.astype(np.float32)
    with pytest.warns(PrecisionWarning, match="float32"):
        report = gradcheck(loss, grad_loss, W32)
    assert report.verdict != "refuted", str(report)
    assert report.verdict == "verified"
    assert any("float32" in n and "float64" in n for n in report.notes), report.notes


def test_float32_inputs_with_a_float64_constant_are_not_refuted():
    W32 = W0[:6, :].astype(np.float32)
    with pytest.warns(PrecisionWarning):
        report = gradcheck(loss, lambda W: grad_loss(W, c=C), W32)
    assert grad_loss(W32, c=C).dtype == np.float64
    assert report.verdict != "refuted", str(report)


def test_float16_gradient():
    x = (np.arange(1.0, 7.0).reshape(2, 3) / 7).astype(np.float16)

    def f(x):
        return float(np.sum(np.sin(x)))

    with pytest.warns(PrecisionWarning, match="float16"):
        good = gradcheck(f, np.cos, x)
    assert good.verdict == "verified", str(good)
    assert any("float16" in n for n in good.notes)
    with pytest.warns(PrecisionWarning):
        bad = gradcheck(f, lambda x: 1.1 * np.cos(x), x)
    assert bad.verdict == "refuted"
    assert any("1.1" in d or "1.09" in d for d in bad.diagnosis[1:]), bad.diagnosis


# -- several arrays ----------------------------------------------------------------------

X1 = np.array([[0.5, -1.0, 0.2], [1.5, 0.3, -0.7]])
Y1 = np.array([[0.9, 1.1, -0.4], [-0.6, 0.8, 1.2]])


def f_xy(x, y):
    return float(np.sum(x * y**2))


def test_several_arrays_all_by_default():
    report = gradcheck(f_xy, lambda x, y: (y**2, 2 * x * y), X1, Y1)
    assert report.verdict == "verified", str(report)
    assert len(report.evidence) == 2


@pytest.mark.parametrize(
    ("wrt", "grad"),
    [
        ([1], lambda x, y: 2 * x * y),
        ([0], lambda x, y: y**2),
        ([1, 0], lambda x, y: (2 * x * y, y**2)),
    ],
)
def test_several_arrays_with_wrt(wrt, grad):
    report = gradcheck(f_xy, grad, X1, Y1, wrt=wrt)
    assert report.verdict == "verified", str(report)
    assert len(report.evidence) == len(wrt)


def test_wrong_gradient_of_the_second_array_is_named():
    report = gradcheck(f_xy, lambda x, y: (y**2, x * y), X1, Y1)
    assert report.verdict == "refuted"
    assert report.entries[0].index[0] == 1  # (which gradient, row, column)
    assert len(report.entries[0].index) == 3
    assert "the claim equals 1/2 times the true gradient" in report.diagnosis
    assert set(report.counterexample) == {"arg0", "arg1"}


def test_only_the_wrt_arrays_are_judged():
    report = gradcheck(f_xy, lambda x, y: 2 * x * y, X1, Y1, wrt=[1])
    assert report.verdict == "verified"
    assert "arg1" in report.claim and "arg0" not in report.claim


# -- diagnosis of whole-array mistakes ----------------------------------------------------

A3 = np.array([[1.0, 2.0, -0.5], [0.3, -1.2, 2.2], [4.0, 0.7, 1.1]])
X3 = np.array([[0.5, -1.0, 0.2], [1.5, 0.3, -0.7], [0.9, 1.1, 0.4]])


def f_quad(X):
    return float(np.sum(A3 * X**2))


def g_quad(X):
    return 2 * A3 * X


@pytest.mark.parametrize(
    ("claimed", "message"),
    [
        pytest.param(
            lambda X: g_quad(X).T, "the claim equals the true gradient transposed", id="T"
        ),
        pytest.param(
            lambda X: 2 * g_quad(X), "the claim equals 2 times the true gradient", id="2x"
        ),
        pytest.param(
            lambda X: -g_quad(X),
            "the claim has the wrong sign: it equals minus the true gradient",
            id="negated",
        ),
        pytest.param(
            lambda X: g_quad(X) / 2, "the claim equals 1/2 times the true gradient", id="half"
        ),
        pytest.param(
            lambda X: g_quad(X) / 32,
            "the claim equals 1/32 (one over 32, e.g. 1/batch) times the true gradient",
            id="batch",
        ),
        pytest.param(
            lambda X: 0 * X,
            "the claim is identically zero but the true gradient is not "
            "(the derivative was dropped entirely)",
            id="zero",
        ),
        pytest.param(
            lambda X: g_quad(X) + np.array([[0.0], [1.0], [0.0]]) * X,
            "the error is confined to row 1",
            id="row",
        ),
        pytest.param(
            lambda X: g_quad(X) + np.array([[0.0, 0.0, 3.0]]) * X,
            "the error is confined to column 2",
            id="column",
        ),
        pytest.param(
            lambda X: g_quad(X) + np.eye(3), "the error is confined to the diagonal", id="diagonal"
        ),
    ],
)
def test_diagnosis_names_the_mistake(claimed, message):
    report = gradcheck(f_quad, claimed, X3)
    assert report.verdict == "refuted", str(report)
    assert message in report.diagnosis, report.diagnosis
    assert str(report).startswith("refuted: ")


def test_correct_small_gradient_is_verified():
    report = gradcheck(f_quad, g_quad, X3)
    assert report.verdict == "verified"
    assert report.diagnosis == ()


def test_documented_example():
    A = np.array([[2.0, 1.0], [0.5, 3.0]])

    def f(x):
        return (x.T @ A @ x).item()

    x = np.array([[1.0], [2.0]])
    assert gradcheck(f, lambda x: (A + A.T) @ x, x).verdict == "verified"
    wrong = gradcheck(f, lambda x: 2 * A @ x, x)
    assert wrong.verdict == "refuted"


def test_report_serialises(tmp_path):
    report = gradcheck(f_quad, lambda X: g_quad(X).T, X3)
    data = json.loads(report.to_json())
    assert data["verdict"] == "refuted"
    assert np.allclose(np.array(data["counterexample"]["arg0"]), X3)
    assert data["diagnosis"] == list(report.diagnosis)
    for e in data["entries"]:
        assert {"index", "claimed", "true", "abs_error", "rel_error", "tolerance"} <= set(e)


# -- bad input ---------------------------------------------------------------------------


def test_gradient_of_the_wrong_shape_is_refuted_with_the_reason():
    report = gradcheck(f_quad, lambda X: g_quad(X)[:2], X3)
    assert report.verdict == "refuted"
    assert report.method == "shape"
    assert "shape (2, 3), the argument has shape (3, 3)" in report.diagnosis[0]


def test_gradient_of_the_transposed_shape_says_so():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    report = gradcheck(lambda x: float(np.sum(x**2)), lambda x: 2 * x.T, x)
    assert report.verdict == "refuted"
    assert report.method == "shape"
    assert "the claim has the transposed shape" in report.diagnosis[0]


def test_wrong_number_of_gradients_is_a_value_error():
    with pytest.raises(ValueError, match="returned 1 arrays for 2 inputs"):
        gradcheck(f_xy, lambda x, y: y**2, X1, Y1)


def test_no_arrays_is_a_value_error():
    with pytest.raises(ValueError, match="at least one input array"):
        gradcheck(lambda: 0.0, lambda: 0.0)


def test_non_numeric_input_is_a_symdl_error():
    with pytest.raises(SymdlError, match="real array"):
        gradcheck(lambda s: 0.0, lambda s: 0.0, "abc")


def test_non_finite_loss_is_a_symdl_error():
    with pytest.raises(SymdlError, match="non-finite"):
        gradcheck(lambda x: float("nan"), lambda x: 2 * x, X3)


def test_unknown_method_is_an_unknown_name_error():
    with pytest.raises(symdl.UnknownNameError, match="bogus"):
        gradcheck(f_quad, g_quad, X3, method="bogus")


def test_non_scalar_loss_is_a_clear_error():
    with pytest.raises((SymdlError, ValueError), match="scalar"):
        gradcheck(lambda x: x**2, lambda x: 2 * x, X3)


def test_wrt_out_of_range_is_a_clear_error():
    with pytest.raises((SymdlError, ValueError, IndexError), match="wrt"):
        gradcheck(f_xy, lambda x, y: 2 * x * y, X1, Y1, wrt=[5])


@pytest.mark.parametrize("where", ["everywhere", "one-entry"])
def test_nan_gradient_is_never_verified(where):
    def claimed(X):
        g = g_quad(X)
        if where == "everywhere":
            return np.full_like(g, np.nan)
        g[1, 2] = np.nan
        return g

    report = gradcheck(f_quad, claimed, X3)
    assert report.verdict != "verified", str(report)


def test_infinite_gradient_is_refuted():
    def claimed(X):
        g = g_quad(X)
        g[1, 2] = np.inf
        return g

    with np.errstate(invalid="ignore"):
        report = gradcheck(f_quad, claimed, X3)
    assert report.verdict == "refuted"


# -- cost of the common path, and the re-check before a refutation -----------------------


class _Layer:
    """A dense tanh layer over a batch of 8 (the planted-bug benchmark's problem):
    L(W) = Σ (tanh(W X) − Y)² / 16, W d×d, one random problem per seed."""

    def __init__(self, d, seed):
        rng = np.random.default_rng(seed)
        self.X, self.Y = rng.normal(size=(d, 8)), 0.5 * rng.normal(size=(d, 8))
        self.W = rng.normal(size=(d, d)) / np.sqrt(d)
        g = np.abs(self.grad(self.W))
        larger = np.argwhere(g >= np.median(g))  # a wrong entry among the larger half
        self.entry = tuple(int(k) for k in larger[rng.integers(len(larger))])

    def loss(self, W):
        r = np.tanh(W @ self.X.astype(W.dtype)) - self.Y.astype(W.dtype)
        return np.sum(r * r) * W.dtype.type(0.5 / 8)

    def grad(self, W):
        t = np.tanh(W @ self.X.astype(W.dtype))
        return (t - self.Y.astype(W.dtype)) * (1 - t * t) @ self.X.astype(W.dtype).T / 8

    def off_by(self, relative):
        def wrong(W):
            g = self.grad(W).copy()
            g[self.entry] *= 1 + relative
            return g

        return wrong


@pytest.mark.parametrize("d, seeds", [(3, range(60)), (10, range(12))])
def test_one_entry_off_by_1e_6_is_refuted_for_every_seed(d, seeds):
    """A 1e-6 relative error in one entry escaped in 1 of 10 trials while mismatches were
    confirmed by central differences (bound ~100× wider); the confirming stencil is tight."""
    for seed in seeds:
        layer = _Layer(d, seed)
        report = gradcheck(layer.loss, layer.off_by(1e-6), layer.W)
        assert report.verdict == "refuted", seed
        assert report.entries[0].index == layer.entry, seed
        assert gradcheck(layer.loss, layer.grad, layer.W).verdict == "verified", seed


@pytest.mark.parametrize("seed", range(8))
def test_correct_float32_gradients_of_the_layer_are_not_refuted(seed):
    layer = _Layer(10, seed)
    with pytest.warns(PrecisionWarning):
        throughout = gradcheck(layer.loss, layer.grad, layer.W.astype(np.float32))
    assert throughout.verdict == "verified"
    claim32 = gradcheck(layer.loss, lambda W: layer.grad(W.astype(np.float32)), layer.W)
    assert claim32.verdict == "verified"


def _ill_conditioned():
    """An SPD matrix with κ ≈ 1e3 (found by symdl.strategies): slogdet rounds ~100× worse
    than a few ulps of its value."""
    a = 6.0160447778903094
    return np.array([[a, 3, 3.125], [3, a, 6], [3.125, 6, a]])


def _logdet(m):
    return np.linalg.slogdet(m)[1]


@pytest.mark.parametrize("method", ["auto", "fourth-order", "central", "richardson"])
def test_ill_conditioned_logdet_is_not_refuted_without_the_noise_up_front(method):
    A = _ill_conditioned()
    truth = np.linalg.inv(A).T
    if method in ("central", "richardson"):
        # without f's noise these bounds miss the truth: the re-check is what saves them
        estimate = symdl.verify.finite.differences(_logdet, A, method=method, noise=False)
        assert np.any(np.abs(estimate.value - truth) > estimate.error)
    report = gradcheck(_logdet, lambda m: np.linalg.inv(m).T, A, method=method)
    assert report.verdict == "verified"
    wrong = gradcheck(_logdet, lambda m: np.linalg.inv(m).T * (1 + 1e-6), A, method=method)
    assert wrong.verdict == "refuted"


class _Counted:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, *args):
        self.calls += 1
        return self.f(*args)


def _cubic(x):
    # degree 3: the stencil is exact, so every first step is balanced (no halving)
    return float(np.sum(x**3 + 2 * x**2 - x))


def _cubic_grad(x):
    return 3 * x**2 + 4 * x - 1


def test_evaluation_counts_are_the_documented_ones():
    from symdl.verify.stencil import fourth_order

    x = np.array([0.3, -1.2, 2.5, 0.7, -0.4])
    n = x.size
    assert fourth_order(_cubic, x, noise=False).evaluations == 6 * n
    assert fourth_order(_cubic, x).evaluations == 6 * n + 9  # f(x) and 8 noise points
    # the agreeing path: f once to validate the call, 6 per entry for the stencil
    f = _Counted(_cubic)
    assert gradcheck(f, _cubic_grad, x, method="fourth-order").verdict == "verified"
    assert f.calls == 1 + 6 * n

    # one suspect entry: the stencil again with f's noise (9 + 6) and the shifted one (9 + 6)
    def wrong(v):
        g = _cubic_grad(v)
        g[2] *= 1 + 1e-6
        return g

    f = _Counted(_cubic)
    report = gradcheck(f, wrong, x, method="fourth-order")
    assert report.verdict == "refuted" and report.entries[0].index == (2,)
    assert f.calls == 1 + 6 * n + 2 * (9 + 6)


def test_sampled_gradcheck_refutes_an_entry_off_by_1e_6():
    from symdl.verify.sampled import sampled_gradcheck

    for seed in range(6):
        layer = _Layer(10, seed)
        report = sampled_gradcheck(layer.loss, layer.off_by(1e-6), layer.W, seed=seed)
        assert report.verdict == "refuted", seed


@pytest.mark.parametrize("x", [np.array(0.7), 0.7])
def test_a_scalar_argument_off_by_1e_6_is_refuted(x):
    def f(t):
        return np.sin(t) * t

    def right(t):
        return np.cos(t) * t + np.sin(t)

    assert gradcheck(f, right, x).verdict == "verified"
    assert gradcheck(f, lambda t: right(t) * (1 + 1e-6), x).verdict == "refuted"
