"""Every layer kind in the registry, checked the same way at its two small configurations.

For each example of each kind: the backward rule against SymPy's entrywise derivative
(``check_rule``: proved or verified), the generated NumPy backward against finite
differences (``check_code``: verified), every gradient the shape of what it is the
gradient of, the equations and code present, and the rule refuted once it is broken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from symdl.derive.layers import LAYERS, Block, Wiring, block_function, check_code, check_rule
from symdl.derive.layers.check import draw

CASES = [
    pytest.param(kind.name, args, dict(kwargs), shape, id=f"{kind.name}-{i}")
    for kind in LAYERS
    for i, (args, kwargs, shape) in enumerate(kind.examples)
]


def _block(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Block:
    return LAYERS.get(name)(*args, **kwargs)


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CASES)
def test_rule_agrees_with_entrywise_differentiation(name, args, kwargs, shape):
    block = _block(name, args, kwargs)
    report = check_rule(block, shape, timeout=120.0)
    assert report.verdict in ("proved", "verified"), str(report)


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CASES)
def test_generated_code_agrees_with_finite_differences(name, args, kwargs, shape):
    block = _block(name, args, kwargs)
    report = check_code(block, shape)
    assert report.verdict == "verified", str(report)


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CASES)
def test_every_gradient_has_the_shape_of_its_parameter(name, args, kwargs, shape):
    block = _block(name, args, kwargs)
    rng = np.random.default_rng(1)
    batch = 2
    integer = bool(getattr(block, "integer_input", False))
    if integer:
        vocabulary = int(getattr(block, "vocabulary", 1))
        x = rng.integers(0, vocabulary, size=(batch, *shape)).astype(float)
    else:
        x = rng.standard_normal((batch, *shape))
    params = {s.name: draw(s, None, rng) for s in block.parameters(shape)}
    data = {s.name: draw(s, batch, rng) for s in block.data(shape)}
    out = block.output_shape(shape)
    gy = 1.0 if block.is_loss else rng.standard_normal((batch, *out))
    _, run = block_function(block, shape)
    y, gx, grads = run(x, params, data, gy)
    assert np.shape(y) == (() if block.is_loss else (batch, *out))
    if not integer:
        assert gx.shape == x.shape
    assert set(grads) == set(params)
    for key, value in params.items():
        assert grads[key].shape == value.shape, key
        assert np.all(np.isfinite(grads[key]))


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CASES)
def test_equations_name_every_gradient(name, args, kwargs, shape):
    block = _block(name, args, kwargs)
    slots = block.parameters(shape)
    wiring = Wiring(
        params={s.name: s.name for s in slots},
        grads={s.name: f"d{s.name}" for s in slots},
        data={s.name: s.name for s in block.data(shape)},
        params_tex={s.name: s.latex for s in slots},
        params_text={s.name: s.text for s in slots},
        data_tex={s.name: s.latex for s in block.data(shape)},
        data_text={s.name: s.text for s in block.data(shape)},
    )
    forward = block.forward_equations(wiring, shape)
    backward = block.backward_equations(wiring, shape)
    assert forward and backward
    text = "\n".join(e.text for e in backward)
    for s in slots:
        assert wiring.g_text(s.name) in text, f"no equation for ∂L/∂{s.name}"
    assert block.describe().startswith(block.kind)


class _Scaled(Block):
    """A kind's block whose backward rule and code are off by a factor on one output."""

    def __init__(self, inner: Block) -> None:
        self.inner = inner
        self.kind = inner.kind  # type: ignore[misc]
        self.is_loss = inner.is_loss  # type: ignore[misc]
        self.integer_input = getattr(inner, "integer_input", False)
        self.vocabulary = getattr(inner, "vocabulary", 1)

    @property
    def args(self):
        return self.inner.args

    def output_shape(self, shape):
        return self.inner.output_shape(shape)

    def parameters(self, shape):
        return self.inner.parameters(shape)

    def data(self, shape):
        return self.inner.data(shape)

    def forward_equations(self, w, shape):
        return self.inner.forward_equations(w, shape)

    def backward_equations(self, w, shape):
        return self.inner.backward_equations(w, shape)

    def support(self):
        return self.inner.support()

    def forward_code(self, w, shape):
        return self.inner.forward_code(w, shape)

    def backward_code(self, w, shape):
        lines = self.inner.backward_code(w, shape)
        target = self._target(shape, w)
        return [*lines, f"{target} = 1.5 * {target}"]

    def _target(self, shape, w):
        slots = self.inner.parameters(shape)
        if slots:
            return w.grads[slots[0].name]
        return w.gx

    def forward_explicit(self, x, params, data):
        return self.inner.forward_explicit(x, params, data)

    def backward_explicit(self, x, params, data, gy):
        gx, grads = self.inner.backward_explicit(x, params, data, gy)
        slots = list(params)
        if slots:
            grads = {**grads, slots[0]: grads[slots[0]] * 3 / 2}
        else:
            gx = gx * 3 / 2
        return gx, grads


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape"),
    [c for c in CASES if c.id.endswith("-0")],
)
def test_a_rule_off_by_a_factor_is_refuted(name, args, kwargs, shape):
    block = _Scaled(_block(name, args, kwargs))
    if not block.parameters(shape) and getattr(block, "integer_input", False):
        pytest.skip("nothing differentiable")
    rule = check_rule(block, shape, timeout=120.0)
    code = check_code(block, shape)
    if _identically_zero(block, shape):
        pytest.skip("the gradient is identically 0 at the drawn point")
    assert rule.verdict == "refuted", str(rule)
    assert code.verdict == "refuted", str(code)


def _identically_zero(block: Block, shape) -> bool:
    """A gradient that is 0 everywhere (hard_tanh beyond ±1 …) survives any factor."""
    rng = np.random.default_rng(0)
    _, run = block_function(block.inner, shape)  # type: ignore[attr-defined]
    if getattr(block, "integer_input", False):  # token ids, as check_code draws them
        x = rng.integers(0, int(getattr(block, "vocabulary", 1)), size=(3, *shape)).astype(float)
    else:
        x = rng.standard_normal((3, *shape))
    params = {s.name: draw(s, None, rng) for s in block.parameters(shape)}
    data = {s.name: draw(s, 3, rng) for s in block.data(shape)}
    gy = 1.0 if block.is_loss else rng.standard_normal((3, *block.output_shape(shape)))
    _, gx, grads = run(x, params, data, gy)
    slots = block.parameters(shape)
    target = grads[slots[0].name] if slots else gx
    return bool(np.all(target == 0))


def test_the_registry_covers_the_layers_of_the_issue():
    names = set(LAYERS.names())
    issue = {
        "dense", "relu", "tanh", "sigmoid", "softmax_cross_entropy", "mse",
        "conv1d", "conv2d", "maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d", "flatten",
        "rnn_cell", "rnn", "last", "lstm", "gru",
        "batch_norm", "batch_norm2d", "layer_norm", "dropout", "embedding",
        "attention", "causal_attention", "softmax",
    }  # fmt: skip
    assert issue <= names, issue - names
