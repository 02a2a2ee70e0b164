"""Batch norm and layer norm: the published form of the backward pass and its bugs.

Ioffe & Szegedy (2015), Sec. 3, give the backward pass step by step (∂ℓ/∂x̂, ∂ℓ/∂σ²,
∂ℓ/∂μ, ∂ℓ/∂x); symdl's rule is the compact form. Both are compared symbolically and with
finite differences; the second term of ∂ℓ/∂μ is proved to vanish; three classic mistakes
are refuted by both checks.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symdl.derive.layers import LAYERS, block_function, check_code, check_rule
from symdl.derive.layers.base import symbols
from symdl.derive.layers.batch_norm_steps import batch_norm_steps
from symdl.derive.layers.normalisation import BatchNorm, BatchNorm2d, LayerNorm
from symdl.errors import ShapeError
from symdl.verify import gradcheck

EPS = 1e-5


def _symbolic_batch(m: int = 3, n: int = 2):
    return symbols("x", (m, n)), symbols("gamma", (n,)), symbols("g", (m, n))


def _all_expand_to_zero(a) -> bool:
    return all(sp.expand(v) == 0 for v in np.asarray(a, dtype=object).flat)


def test_step_by_step_form_equals_the_compact_form_symbolically():
    x, gamma, g = _symbolic_batch()
    steps = batch_norm_steps(x, gamma, g, eps=EPS)
    block = BatchNorm(2)
    gx, grads = block.backward_explicit(x, {"gamma": gamma, "beta": symbols("b", (2,))}, {}, g)
    assert _all_expand_to_zero(steps.dx - gx)
    assert _all_expand_to_zero(steps.dgamma - grads["gamma"])
    assert _all_expand_to_zero(steps.dbeta - grads["beta"])


def test_the_second_term_of_dmu_vanishes_identically_at_m_3():
    x, gamma, g = _symbolic_batch()
    steps = batch_norm_steps(x, gamma, g, eps=EPS)
    assert _all_expand_to_zero(steps.dmean_vanishing)
    # the term is ∂ℓ/∂σ² · Σ −2(xᵢ − μ)/m: ∂ℓ/∂σ² itself is not zero, the sum is
    assert not _all_expand_to_zero(steps.dvar)
    assert _all_expand_to_zero(steps.dmean - steps.dmean_direct)


def test_the_centred_sum_vanishes_for_every_batch_size():
    m = sp.Symbol("m", integer=True, positive=True)
    i = sp.Symbol("i", integer=True)
    x = sp.IndexedBase("x")
    mu = sp.Sum(x[i], (i, 1, m)) / m
    centred = sp.simplify(sp.Sum(x[i] - mu, (i, 1, m))).doit()
    assert centred == 0
    # the term is ∂ℓ/∂σ² · (−2/m) · Σ(xᵢ − μ), a multiple of the centred sum
    assert sp.Symbol("dvar") * (-2 / m) * centred == 0


def test_the_step_by_step_form_agrees_with_finite_differences_and_the_generated_code():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3))
    gamma = rng.uniform(0.5, 1.5, 3)
    beta = rng.standard_normal(3)
    gy = rng.standard_normal((5, 3))
    block = BatchNorm(3)
    _, run = block_function(block, (3,))
    steps = batch_norm_steps(x, gamma, gy, eps=EPS)

    def f(x, gamma, beta):
        y, _, _ = run(x, {"gamma": gamma, "beta": beta}, {}, gy)
        return float(np.sum(gy * y))

    def by_steps(x, gamma, beta):
        s = batch_norm_steps(x, gamma, gy, eps=EPS)
        return s.dx, s.dgamma, s.dbeta

    assert gradcheck(f, by_steps, x, gamma, beta).verdict == "verified"
    _, gx, grads = run(x, {"gamma": gamma, "beta": beta}, {}, gy)
    np.testing.assert_allclose(steps.dx, gx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(steps.dgamma, grads["gamma"], rtol=1e-12)
    np.testing.assert_allclose(steps.dbeta, grads["beta"], rtol=1e-12)
    assert np.max(np.abs(steps.dmean_vanishing)) < 1e-12


class _NoMeanPath(BatchNorm):
    """Drops ∂ℓ/∂μ: ∂ℓ/∂x = ∂ℓ/∂x̂/√(σ²+ε) + ∂ℓ/∂σ²·2(x − μ)/m."""

    def backward_explicit(self, x, params, data, gy):
        s = batch_norm_steps(x, params["gamma"], gy, eps=self.eps)
        m = x.shape[0]
        xc = x - s.mean
        rstd = np.vectorize(lambda v: 1 / sp.sqrt(v), otypes=[object])(s.var + sp.Rational(EPS))
        return s.dxhat * rstd + s.dvar * 2 * xc / m, {"gamma": s.dgamma, "beta": s.dbeta}

    def backward_code(self, w, shape):
        t = w.tmp
        return [
            *super().backward_code(w, shape)[:2],
            f"{t}d = {w.gy} * {w.params['gamma']}",
            f"{t}dvar = -0.5 * ({t}d * {t}xc).sum(axis=0) * {t}rstd ** 3",
            f"{w.gx} = {t}d * {t}rstd + {t}dvar * 2 * {t}xc / {w.x}.shape[0]",
        ]


class _UnbiasedInBackward(BatchNorm):
    """The backward pass recomputes σ² with 1/(m − 1) (Bessel's correction) while the
    forward pass normalised with the biased 1/m."""

    def backward_explicit(self, x, params, data, gy):
        m = x.shape[0]
        xc = x - x.sum(axis=0) / m
        var = (xc * xc).sum(axis=0) / (m - 1)
        rstd = np.vectorize(lambda v: 1 / sp.sqrt(v), otypes=[object])(var + sp.Rational(EPS))
        xhat = xc * rstd
        d = gy * params["gamma"]
        gx = (rstd / m) * (m * d - d.sum(axis=0) - xhat * (d * xhat).sum(axis=0))
        return gx, {"gamma": (gy * xhat).sum(axis=0), "beta": gy.sum(axis=0)}

    def backward_code(self, w, shape):
        t = w.tmp
        return [
            *super().backward_code(w, shape)[:2],
            f"{t}rstd = 1.0 / np.sqrt(({t}xc * {t}xc).sum(axis=0) / ({w.x}.shape[0] - 1) + "
            f"{self.eps!r})",
            f"{t}xhat = {t}xc * {t}rstd",
            *super().backward_code(w, shape)[2:],
        ]


class _ForgetsGamma(BatchNorm):
    """∂ℓ/∂x̂ = ∂ℓ/∂y instead of ∂ℓ/∂y · γ."""

    def backward_explicit(self, x, params, data, gy):
        ones = np.array([sp.Integer(1)] * self.n, dtype=object)
        gx, _ = super().backward_explicit(x, {**params, "gamma": ones}, data, gy)
        _, grads = super().backward_explicit(x, params, data, gy)
        return gx, grads

    def backward_code(self, w, shape):
        return [
            line.replace(f" * {w.params['gamma']}", "") for line in super().backward_code(w, shape)
        ]


@pytest.mark.parametrize("bug", [_NoMeanPath, _UnbiasedInBackward, _ForgetsGamma])
def test_a_classic_batch_norm_mistake_is_refuted_by_both_checks(bug):
    block = bug(2)
    assert check_rule(block, (2,), batch=3).verdict == "refuted"
    assert check_code(block, (2,), batch=4).verdict == "refuted"


def test_the_unbroken_rule_passes_where_the_mistakes_are_refuted():
    block = BatchNorm(2)
    assert check_rule(block, (2,), batch=3).ok
    assert check_code(block, (2,), batch=4).verdict == "verified"


def test_batch_norm2d_is_batch_norm_over_batch_and_pixels():
    """Ioffe & Szegedy Sec. 3.2: per feature map, over an effective batch of m = B·h·w."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 2, 4))
    gy = rng.standard_normal((2, 3, 2, 4))
    params = {"gamma": rng.uniform(0.5, 1.5, 3), "beta": rng.standard_normal(3)}
    _, run2d = block_function(BatchNorm2d(3), (3, 2, 4))
    _, run1d = block_function(BatchNorm(3), (3,))

    def flat(a):
        return a.transpose(0, 2, 3, 1).reshape(-1, 3)

    y2, gx2, g2 = run2d(x, params, {}, gy)
    y1, gx1, g1 = run1d(flat(x), params, {}, flat(gy))
    np.testing.assert_allclose(flat(y2), y1, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(flat(gx2), gx1, rtol=1e-12, atol=1e-14)
    for k in params:
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-12)


def test_layer_norm_normalises_each_example_and_batch_norm_each_feature():
    rng = np.random.default_rng(1)
    x = 3 + 2 * rng.standard_normal((4, 5))
    params = {"gamma": np.ones(5), "beta": np.zeros(5)}
    gy = np.zeros((4, 5))
    y_layer, _, _ = block_function(LayerNorm(5), (5,))[1](x, params, {}, gy)
    y_batch, _, _ = block_function(BatchNorm(5), (5,))[1](x, params, {}, gy)
    np.testing.assert_allclose(y_layer.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y_batch.mean(axis=0), 0, atol=1e-12)
    assert np.max(np.abs(y_layer.mean(axis=0))) > 0.1


def test_layer_norm_of_a_sequence_normalises_each_token():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4))
    gy = rng.standard_normal((2, 3, 4))
    params = {"gamma": rng.uniform(0.5, 1.5, 4), "beta": rng.standard_normal(4)}
    y3, gx3, g3 = block_function(LayerNorm(4), (3, 4))[1](x, params, {}, gy)
    y2, gx2, g2 = block_function(LayerNorm(4), (4,))[1](
        x.reshape(6, 4), params, {}, gy.reshape(6, 4)
    )
    np.testing.assert_allclose(y3.reshape(6, 4), y2, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gx3.reshape(6, 4), gx2, rtol=1e-12, atol=1e-14)
    for k in params:
        np.testing.assert_allclose(g3[k], g2[k], rtol=1e-12)


class _LayerNormWithBatchStatistics(LayerNorm):
    """Layer norm's backward pass written with batch norm's axes."""

    def backward_explicit(self, x, params, data, gy):
        return BatchNorm(self.n, self.eps).backward_explicit(x, params, data, gy)

    def backward_code(self, w, shape):
        return [line.replace("axis=(1,)", "axis=(0,)") for line in super().backward_code(w, shape)]


def test_layer_norm_with_the_wrong_axes_is_refuted():
    block = _LayerNormWithBatchStatistics(2)
    assert check_rule(block, (2,), batch=2).verdict == "refuted"
    assert check_code(block, (2,), batch=3).verdict == "refuted"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BatchNorm(0), "positive integer"),
        (lambda: BatchNorm(2, -1.0), "positive"),
        (lambda: BatchNorm(2, float("nan")), "finite"),
        (lambda: LayerNorm(2, "1e-5"), "number"),
        (lambda: BatchNorm2d(True), "positive integer"),
    ],
)
def test_bad_arguments_are_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_shapes_that_do_not_fit_name_the_block():
    with pytest.raises(ShapeError, match=r"batch_norm\(3\)"):
        BatchNorm(3).output_shape((2,))
    with pytest.raises(ShapeError, match=r"\(2, h, w\)"):
        BatchNorm2d(2).output_shape((2,))
    with pytest.raises(ShapeError, match="layer_norm"):
        LayerNorm(2).output_shape((2, 3))
    assert LayerNorm(2).output_shape((3, 2)) == (3, 2)
    assert LAYERS.get("batch_norm")(4, 0.1).describe() == "batch_norm(4, 0.1)"
    assert LAYERS.get("batchnorm")(4).describe() == "batch_norm(4)"


def test_steps_refuse_mismatched_shapes():
    with pytest.raises(ShapeError, match="batch_norm_steps"):
        batch_norm_steps(np.zeros((3, 2)), np.ones(3), np.zeros((3, 2)))


def test_the_equations_state_the_vanishing_term():
    from symdl.derive.layers import Wiring

    w = Wiring(
        params={"gamma": "g", "beta": "b"},
        params_tex={"gamma": r"\gamma", "beta": r"\beta"},
        params_text={"gamma": "γ", "beta": "β"},
    )
    notes = " ".join(e.note for e in BatchNorm(2).backward_equations(w, (2,)))
    assert "vanishes identically" in notes
    assert "Σᵢ (xᵢ − μ) = 0" in notes
