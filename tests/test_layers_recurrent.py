"""Recurrent layers: rnn_cell, rnn (BPTT), lstm, gru and last.

Published forms: the BPTT recursion of the module docs (per example, column vectors,
δh_t = ∂L/∂h_t + W_hhᵀ(δh_(t+1) ⊙ (1 − h_(t+1)²))) written here as an independent loop
over examples and steps, against the generated code; the LSTM gate gradients of
Gers et al. (2000) against finite differences of a direct one-step cell; the GRU forward
in PyTorch's convention. Planted bugs (the recurrent term missing, W_hh where W_hhᵀ
belongs, the forget gate's gradient without c_(t−1)) are refuted by check_rule and
check_code.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy import special

from symdl.derive.backprop import backprop
from symdl.derive.backprop_check import check_backprop
from symdl.derive.layers import LAYERS, Wiring, block_function, check_code, check_rule
from symdl.derive.layers.gru import GRU
from symdl.derive.layers.lstm import LSTM
from symdl.derive.layers.recurrent import RNN, at_step
from symdl.derive.layers.recurrent_step import Last, RNNCell
from symdl.errors import ShapeError
from symdl.verify import gradcheck

WIRING = Wiring(
    params={k: f"params[{k!r}]" for k in ("W_xh", "W_hh", "b", "b_x", "b_h", "h0", "c0")},
    grads={k: f"grads[{k!r}]" for k in ("W_xh", "W_hh", "b", "b_x", "b_h", "h0", "c0")},
)


def _params(block, shape, rng):
    return {
        s.name: rng.standard_normal(s.shape) / np.sqrt(s.fan_in) for s in block.parameters(shape)
    }


# ---- the BPTT recursion, as published, per example -------------------------------------


def bptt(x, p, gy, *, tanh=np.tanh, recurrent=True, transpose=True):
    """The forward recurrence and BPTT for one tanh RNN, example by example (column form).

    Works on float arrays and on object arrays of SymPy expressions. ``recurrent=False``
    drops W_hhᵀ(…) from δh_t and ``transpose=False`` uses W_hh in its place: planted bugs.
    """
    batch, steps, _ = x.shape
    w_xh, w_hh, b, h0 = p["W_xh"], p["W_hh"], p["b"], p["h0"]
    back = w_hh.T if transpose else w_hh
    gx = np.empty(x.shape, dtype=x.dtype if x.dtype != object else object)
    g = {k: np.zeros(v.shape, dtype=gx.dtype) for k, v in p.items()}
    for e in range(batch):
        hs = [h0]
        for t in range(steps):
            hs.append(tanh(w_xh @ x[e, t] + w_hh @ hs[-1] + b))
        dh_next = np.zeros_like(h0)  # δh_(t+1) ⊙ (1 − h_(t+1)²), zero past T
        for t in range(steps, 0, -1):
            dh = gy[e, t - 1] + (back @ dh_next if recurrent else 0 * dh_next)
            da = dh * (1 - hs[t] * hs[t])
            gx[e, t - 1] = w_xh.T @ da
            g["W_xh"] = g["W_xh"] + np.outer(da, x[e, t - 1])
            g["W_hh"] = g["W_hh"] + np.outer(da, hs[t - 1])
            g["b"] = g["b"] + da
            dh_next = da
        g["h0"] = g["h0"] + (back @ dh_next if recurrent else 0 * dh_next)
    return gx, g


def test_generated_bptt_equals_the_published_recursion():
    rng = np.random.default_rng(0)
    block, shape = RNN(3, 4), (6, 3)
    x = rng.standard_normal((5, *shape))
    p = _params(block, shape, rng)
    p["h0"] = rng.standard_normal(4)  # a nonzero learned initial state
    gy = rng.standard_normal((5, 6, 4))
    _, run = block_function(block, shape)
    _, gx, grads = run(x, p, {}, gy)
    want_gx, want = bptt(x, p, gy)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-12, atol=1e-13)
    for k in p:
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-12, atol=1e-13, err_msg=k)


def test_the_published_recursion_matches_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 2))
    names = ("W_xh", "W_hh", "b", "h0")
    values = [rng.standard_normal(s) * 0.7 for s in ((3, 2), (3, 3), (3,), (3,))]
    gy = rng.standard_normal((2, 4, 3))

    def f(x, *theta):
        p = dict(zip(names, theta))
        total = 0.0
        for e in range(x.shape[0]):
            h = p["h0"]
            for t in range(x.shape[1]):
                h = np.tanh(p["W_xh"] @ x[e, t] + p["W_hh"] @ h + p["b"])
                total += gy[e, t] @ h
        return total

    def grad(x, *theta):
        gx, g = bptt(x, dict(zip(names, theta)), gy)
        return (gx, *(g[n] for n in names))

    assert gradcheck(f, grad, x, *values).verdict == "verified"


class _RNNBug(RNN):
    """The RNN with a planted BPTT bug, in its rule and in its code."""

    def __init__(self, bug: str) -> None:
        super().__init__(1, 2)
        self.bug = bug

    def backward_explicit(self, x, params, data, gy):
        tanh = np.vectorize(sp.tanh, otypes=[object])
        return bptt(
            x,
            params,
            gy,
            tanh=tanh,
            recurrent=self.bug != "recurrent",
            transpose=self.bug != "transpose",
        )

    def backward_code(self, w, shape):
        mistakes = super().variants(w, shape)
        name = next(k for k in mistakes if ("W_hh instead" in k) == (self.bug == "transpose"))
        return mistakes[name]


def test_the_independent_rule_is_proved_by_check_rule():
    class _Published(RNN):
        def backward_explicit(self, x, params, data, gy):
            return bptt(x, params, gy, tanh=np.vectorize(sp.tanh, otypes=[object]))

    assert check_rule(_Published(1, 2), (2, 1), batch=1).verdict == "proved"


@pytest.mark.parametrize("bug", ["recurrent", "transpose"])
def test_planted_bptt_bugs_are_refuted(bug):
    block, shape = _RNNBug(bug), (2, 1)
    assert check_rule(block, shape, batch=1).verdict == "refuted"
    assert check_code(block, shape).verdict == "refuted"


# ---- the LSTM gate gradients ------------------------------------------------------------


def lstm_cell(a, c_prev):
    """One LSTM step from its pre-activations a = [aⁱ; aᶠ; aᵍ; aᵒ] (Gers et al. 2000)."""
    n = c_prev.shape[0]
    i, f = special.expit(a[:n]), special.expit(a[n : 2 * n])
    g, o = np.tanh(a[2 * n : 3 * n]), special.expit(a[3 * n :])
    c = f * c_prev + i * g
    return o * np.tanh(c), c, (i, f, g, o)


def gate_gradients(a, c_prev, gh, gc):
    """The published gate gradients for L = ⟨gh, h⟩ + ⟨gc, c⟩ (module doc of lstm)."""
    _, c, (i, f, g, o) = lstm_cell(a, c_prev)
    dc = gh * o * (1 - np.tanh(c) ** 2) + gc
    return np.concatenate(
        (
            dc * g * i * (1 - i),
            dc * c_prev * f * (1 - f),
            dc * i * (1 - g * g),
            gh * np.tanh(c) * o * (1 - o),
        )
    ), dc * f


@pytest.mark.parametrize("seed", range(3))
def test_lstm_gate_gradients_match_finite_differences_of_a_cell(seed):
    rng = np.random.default_rng(seed)
    n = 3
    a, c_prev = rng.standard_normal(4 * n), rng.standard_normal(n)
    gh, gc = rng.standard_normal(n), rng.standard_normal(n)

    def f(a, c_prev):
        h, c, _ = lstm_cell(a, c_prev)
        return float(gh @ h + gc @ c)

    report = gradcheck(f, lambda a, c: gate_gradients(a, c, gh, gc), a, c_prev)
    assert report.verdict == "verified", str(report)


def test_lstm_code_equals_a_loop_over_the_published_gate_gradients():
    rng = np.random.default_rng(2)
    n, steps, batch, n_in = 3, 5, 2, 2
    block, shape = LSTM(n_in, n), (steps, n_in)
    p = _params(block, shape, rng)
    p["h0"], p["c0"] = rng.standard_normal(n), rng.standard_normal(n)
    x = rng.standard_normal((batch, steps, n_in))
    gy = rng.standard_normal((batch, steps, n))
    _, run = block_function(block, shape)
    y, gx, grads = run(x, p, {}, gy)
    want = {k: np.zeros_like(v) for k, v in p.items()}
    for e in range(batch):
        hs, cs, pre = [p["h0"]], [p["c0"]], []
        for t in range(steps):
            pre.append(p["W_xh"] @ x[e, t] + p["W_hh"] @ hs[-1] + p["b"])
            h, c, _ = lstm_cell(pre[-1], cs[-1])
            hs.append(h)
            cs.append(c)
        np.testing.assert_allclose(y[e], np.array(hs[1:]), rtol=1e-12)
        gh_next, gc_next = np.zeros(n), np.zeros(n)  # from step t + 1 into h_t and c_t
        for t in range(steps, 0, -1):
            da, gc_next = gate_gradients(pre[t - 1], cs[t - 1], gy[e, t - 1] + gh_next, gc_next)
            np.testing.assert_allclose(gx[e, t - 1], p["W_xh"].T @ da, rtol=1e-10, atol=1e-12)
            want["W_xh"] += np.outer(da, x[e, t - 1])
            want["W_hh"] += np.outer(da, hs[t - 1])
            want["b"] += da
            gh_next = p["W_hh"].T @ da
        want["h0"] += gh_next
        want["c0"] += gc_next
    for k in p:
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-10, atol=1e-12, err_msg=k)


class _LSTMForgetBug(LSTM):
    """The forget gate's gradient without c_(t−1), in the rule and in the code."""

    def _states(self, x, params):
        steps = super()._states(x, params)
        for s in steps:  # only the backward pass reads c_prev
            s["c_prev"] = np.ones_like(s["c_prev"])
        return steps

    def backward_code(self, w, shape):
        return super().variants(w, shape)["the forget gate's gradient without c_(t−1)"]


def test_a_forget_gate_gradient_without_the_previous_cell_is_refuted():
    block, shape = _LSTMForgetBug(1, 1), (2, 1)
    assert check_rule(block, shape, batch=1).verdict == "refuted"
    assert check_code(block, shape).verdict == "refuted"


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_every_named_wrong_variant_fails_the_gradient_check(name):
    block, shape = LAYERS.get(name)(2, 3), (4, 2)
    variants = block.variants(WIRING, shape)
    assert variants
    for mistake, lines in variants.items():
        wrong = _with_backward(block, lines)
        assert check_code(wrong, shape).verdict == "refuted", mistake


def _with_backward(block, lines):
    class _Wrong(type(block)):
        def backward_code(self, w, shape):
            return lines

    wrong = _Wrong.__new__(_Wrong)
    wrong.__dict__.update(block.__dict__)
    return wrong


# ---- GRU: PyTorch's convention ----------------------------------------------------------


def test_gru_forward_is_pytorchs_convention():
    rng = np.random.default_rng(3)
    n, n_in, steps = 3, 2, 4
    block, shape = GRU(n_in, n), (steps, n_in)
    p = _params(block, shape, rng)
    p["h0"] = rng.standard_normal(n)
    x = rng.standard_normal((2, steps, n_in))
    _, run = block_function(block, shape)
    y, _, _ = run(x, p, {}, np.zeros((2, steps, n)))
    wi, wh, bi, bh = p["W_xh"], p["W_hh"], p["b_x"], p["b_h"]
    for e in range(2):
        h = p["h0"]
        for t in range(steps):
            gi, gh = wi @ x[e, t] + bi, wh @ h + bh  # torch.nn.GRU's documented equations
            r = special.expit(gi[:n] + gh[:n])
            z = special.expit(gi[n : 2 * n] + gh[n : 2 * n])
            cand = np.tanh(gi[2 * n :] + r * gh[2 * n :])
            h = (1 - z) * cand + z * h
            np.testing.assert_allclose(y[e, t], h, rtol=1e-12)


@pytest.mark.parametrize(
    ("block", "shape"),
    [
        (RNN(2, 3), (2, 2)),
        (RNN(2, 2, learn_initial=False), (3, 2)),
        (RNNCell(2, 2), (4,)),
        (LSTM(2, 2), (3, 2)),
        (GRU(2, 3), (3, 2)),
        (Last(), (3, 2)),
    ],
    ids=lambda v: v.describe() if hasattr(v, "describe") else None,
)
def test_generated_code_at_larger_sizes_matches_finite_differences(block, shape):
    assert check_code(block, shape, seed=4).verdict == "verified"


def test_rnn_cell_reports_the_gradient_of_the_previous_state():
    rng = np.random.default_rng(5)
    cell, rnn = RNNCell(2, 3), RNN(2, 3)
    p = _params(rnn, (1, 2), rng)
    p["h0"] = rng.standard_normal(3)
    x = rng.standard_normal((4, 1, 2))
    gy = rng.standard_normal((4, 1, 3))
    _, run_rnn = block_function(rnn, (1, 2))
    y, gx, grads = run_rnn(x, p, {}, gy)
    _, run_cell = block_function(cell, (5,))
    cell_in = np.concatenate((x[:, 0], np.broadcast_to(p["h0"], (4, 3))), axis=1)
    cell_params = {k: p[k] for k in ("W_xh", "W_hh", "b")}
    y_cell, gx_cell, _ = run_cell(cell_in, cell_params, {}, gy[:, 0])
    np.testing.assert_allclose(y_cell, y[:, 0], rtol=1e-14)
    np.testing.assert_allclose(gx_cell[:, :2], gx[:, 0], rtol=1e-12)
    np.testing.assert_allclose(gx_cell[:, 2:].sum(axis=0), grads["h0"], rtol=1e-12)


# ---- networks, shapes, arguments --------------------------------------------------------


def test_a_sequence_classifier_backpropagates_and_checks():
    res = backprop("input(5,3) | rnn(3,4) | last | dense(4,2) | softmax_cross_entropy")
    check = check_backprop(res)
    assert check.verdict == "verified"
    text = "\n".join(line.equation.text for s in res.derivation for line in s.lines)
    assert "δH_t" in text and "Σ_t δA_tᵀ" in text


@pytest.mark.parametrize(
    ("block", "shape", "match"),
    [
        (RNN(3, 4), (5, 2), r"\(T, 3\)"),
        (RNN(3, 4), (3,), r"\(T, 3\)"),
        (LSTM(3, 4), (2, 4, 3), r"\(T, 3\)"),
        (GRU(3, 4), (5,), r"\(T, 3\)"),
        (RNNCell(3, 4), (3,), "3 \\+ 4 = 7"),
        (Last(), (4,), "sequence"),
    ],
)
def test_shape_errors_name_the_block(block, shape, match):
    with pytest.raises(ShapeError, match=match):
        block.output_shape(shape)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru", "rnn_cell"])
@pytest.mark.parametrize("bad", [0, -2, 2.5, "3", True])
def test_bad_sizes_are_clear_errors(name, bad):
    with pytest.raises(ShapeError, match="positive integer"):
        LAYERS.get(name)(bad, 3)
    with pytest.raises(ShapeError, match="positive integer"):
        LAYERS.get(name)(3, bad)


def test_learn_initial_must_be_a_bool():
    with pytest.raises(ValueError, match="learn_initial"):
        RNN(2, 2, learn_initial="yes")
    assert [s.name for s in RNN(2, 2, learn_initial=False).parameters((3, 2))] == [
        "W_xh",
        "W_hh",
        "b",
    ]


def test_step_subscripts_brace_a_subscripted_name():
    assert at_step(r"\mathbf{H}_{1}", "t-1") == r"{\mathbf{H}_{1}}_{t-1}"
