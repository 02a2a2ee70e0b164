"""Scaled dot-product attention and the softmax layer: the published form and its bugs.

Vaswani et al. (2017), Sec. 3.2.1: softmax(QKᵀ/√d_k)V. The 1/√d_k scale, the softmax's
vector–Jacobian product and the transpose in ∂L/∂K are where hand-derived backward
passes go wrong; each mistake is refuted by the symbolic check and by finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symdl.derive.layers import LAYERS, block_function, check_code, check_rule
from symdl.derive.layers.attention import Attention, CausalAttention
from symdl.derive.layers.base import symbols
from symdl.derive.layers.softmax import Softmax, softmax_explicit, softmax_vjp_explicit
from symdl.errors import ShapeError


def _numbers(block, shape, batch=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *shape))
    params = {s.name: rng.standard_normal(s.shape) for s in block.parameters(shape)}
    gy = rng.standard_normal((batch, *block.output_shape(shape)))
    return x, params, gy


def _reference_attention(x, params, d_k, causal=False):
    """softmax(QKᵀ/√d_k)V written out per example, as the paper states it."""
    out = []
    for xb in x:
        q, k, v = xb @ params["Wq"], xb @ params["Wk"], xb @ params["Wv"]
        s = q @ k.T / np.sqrt(d_k)
        if causal:
            s = np.where(np.tri(len(xb), dtype=bool), s, -np.inf)
        a = np.exp(s - s.max(axis=1, keepdims=True))
        out.append((a / a.sum(axis=1, keepdims=True)) @ v)
    return np.array(out)


@pytest.mark.parametrize("causal", [False, True])
def test_the_forward_pass_is_the_papers_formula_with_the_scale(causal):
    block = CausalAttention(3, 4, 2) if causal else Attention(3, 4, 2)
    x, params, gy = _numbers(block, (5, 3))
    y, _, _ = block_function(block, (5, 3))[1](x, params, {}, gy)
    np.testing.assert_allclose(y, _reference_attention(x, params, 4, causal), rtol=1e-12)
    unscaled = _reference_attention(x, {**params, "Wq": params["Wq"] * 2}, 4, causal)
    assert not np.allclose(y, unscaled)  # doubling W_q undoes 1/√4: the unscaled scores


def test_a_causal_output_does_not_depend_on_later_tokens():
    block = CausalAttention(2, 2, 2)
    x, params, gy = _numbers(block, (4, 2))
    _, run = block_function(block, (4, 2))
    y, _, _ = run(x, params, {}, gy)
    later = x.copy()
    later[:, 2:] += 5.0
    y2, _, _ = run(later, params, {}, gy)
    np.testing.assert_array_equal(y[:, :2], y2[:, :2])
    assert not np.allclose(y[:, 2:], y2[:, 2:])
    gy_first = np.zeros_like(gy)
    gy_first[:, 0] = 1.0
    _, gx, _ = run(x, params, {}, gy_first)
    assert np.all(gx[:, 1:] == 0)  # the first output sees only the first token


class _Bug(Attention):
    """Attention whose backward rule and code carry one planted mistake."""

    mistake = ""

    def backward_explicit(self, x, params, data, gy):
        q, k, v, a = self._attend(x, params)
        root = 1 if self.mistake == "no_scale" else sp.sqrt(self.d_k)
        dv = np.stack([ab.T @ gb for ab, gb in zip(a, gy)])
        da = np.stack([gb @ vb.T for gb, vb in zip(gy, v)])
        ds = softmax_vjp_explicit(a, da)
        dq = np.stack([dsb @ kb for dsb, kb in zip(ds, k)]) / root
        if self.mistake == "transposed_k":
            dkey = np.stack([dsb @ qb for dsb, qb in zip(ds, q)]) / root
        else:
            dkey = np.stack([dsb.T @ qb for dsb, qb in zip(ds, q)]) / root
        grads = {
            name: sum(xb.T @ db for xb, db in zip(x, delta))
            for name, delta in (("Wq", dq), ("Wk", dkey), ("Wv", dv))
        }
        gx = dq @ params["Wq"].T + dkey @ params["Wk"].T
        if self.mistake != "two_paths":
            gx = gx + dv @ params["Wv"].T
        return gx, grads

    def backward_code(self, w, shape):
        lines = super().backward_code(w, shape)
        t = w.tmp
        if self.mistake == "no_scale":
            lines = [ln.replace(f" * {self._scale()!r}", "") for ln in lines]
        if self.mistake == "transposed_k":
            lines = [ln.replace(f"{t}ds.transpose(0, 2, 1) @", f"{t}ds @") for ln in lines]
        if self.mistake == "two_paths":
            lines = [ln.replace(f" + {t}dv @ {w.params['Wv']}.T", "") for ln in lines]
        return lines


def _bug(mistake, *args):
    block = _Bug(*args)
    block.mistake = mistake
    return block


@pytest.mark.parametrize(
    ("mistake", "args", "shape"),
    [
        ("no_scale", (1, 2, 1), (2, 1)),  # d_k = 2: the scale is 1/√2, not 1
        ("transposed_k", (2, 1, 1), (2, 2)),
        ("two_paths", (1, 1, 1), (2, 1)),
    ],
)
def test_an_attention_mistake_is_refuted_by_both_checks(mistake, args, shape):
    block = _bug(mistake, *args)
    assert check_rule(block, shape, batch=1).verdict == "refuted"
    wide = _bug(mistake, 3, 2, 2)
    assert check_code(wide, (3, 3)).verdict == "refuted"


def test_the_unbroken_rule_passes_at_the_same_sizes():
    assert check_rule(Attention(1, 2, 1), (2, 1), batch=1).ok
    assert check_rule(Attention(2, 1, 1), (2, 2), batch=1).ok
    assert check_code(Attention(3, 2, 2), (3, 3)).verdict == "verified"
    assert check_code(CausalAttention(3, 2, 2), (3, 3)).verdict == "verified"


def test_the_softmax_vjp_is_the_transposed_jacobian_times_g():
    """Jᵀg with J = diag(p) − ppᵀ, from SymPy's Jacobian of the softmax, entry by entry."""
    z = symbols("z", (3,))
    g = symbols("g", (3,))
    p = softmax_explicit(z)
    jacobian = sp.Matrix(3, 3, lambda i, j: sp.diff(p[i], z[j]))
    want = jacobian.T * sp.Matrix(g)
    got = softmax_vjp_explicit(p, g)
    assert all(sp.simplify(got[i] - want[i]) == 0 for i in range(3))
    closed = sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T
    assert sp.simplify(jacobian - closed) == sp.zeros(3, 3)


class _SoftmaxWithoutCentring(Softmax):
    """P ⊙ G: the diagonal of the Jacobian only (drops −ppᵀ)."""

    def backward_explicit(self, x, params, data, gy):
        return softmax_explicit(x) * gy, {}

    def backward_code(self, w, shape):
        return [f"{w.gx} = {w.y} * {w.gy}"]


def test_a_softmax_vjp_without_the_rank_one_term_is_refuted():
    block = _SoftmaxWithoutCentring()
    assert check_rule(block, (3,)).verdict == "refuted"
    assert check_code(block, (3,)).verdict == "refuted"


def test_the_softmax_layer_normalises_the_last_axis_and_survives_large_logits():
    _, run = block_function(Softmax(), (2, 3))
    x = np.array([[[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]])
    y, gx, _ = run(x, {}, {}, np.ones((1, 2, 3)))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-15)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(gx, 0.0, atol=1e-15)  # a constant upstream: softmax sums to 1


@pytest.mark.parametrize(
    ("build", "shape", "message"),
    [
        (lambda: Attention(2, 2, 2), (3, 3), r"\(T, 2\)"),
        (lambda: Attention(2, 2, 2), (2,), "attention"),
        (lambda: CausalAttention(2, 1, 1), (2, 2, 2), "causal_attention"),
        (lambda: Softmax(), (), "scalar"),
    ],
)
def test_shapes_that_do_not_fit_name_the_block(build, shape, message):
    with pytest.raises(ShapeError, match=message):
        build().output_shape(shape)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ShapeError, match="d_k"):
        Attention(2, 0, 2)
    with pytest.raises(ShapeError, match="d_model"):
        LAYERS.get("attention")("2", 2, 2)
    assert Attention(4, 2, 3).output_shape((7, 4)) == (7, 3)
    assert LAYERS.get("self_attention")(4, 2, 3).describe() == "attention(4, 2, 3)"
