r"""The dense layer and the elementwise activations of the catalogue, as blocks.

Dense, on a batch :math:`\mathbf X \in \mathbb R^{B\times n}` (one example per row):

.. math::

    \mathbf Z = \mathbf X\mathbf W^\top + \mathbf 1\mathbf b^\top,\qquad
    \frac{\partial L}{\partial\mathbf X} = \boldsymbol\Delta\mathbf W,\quad
    \frac{\partial L}{\partial\mathbf W} = \boldsymbol\Delta^\top\mathbf X,\quad
    \frac{\partial L}{\partial\mathbf b} = \boldsymbol\Delta^\top\mathbf 1,

with :math:`\boldsymbol\Delta = \partial L/\partial\mathbf Z`; per example (a column)
these are :math:`z = Wx + b`, :math:`\partial L/\partial x = W^\top\delta` and
:math:`\partial L/\partial W = \delta x^\top`. An activation :math:`\mathbf A = \varphi(\mathbf
Z)` entrywise has :math:`\partial L/\partial\mathbf Z = \partial L/\partial\mathbf A \odot
\varphi'(\mathbf Z)`, with :math:`\varphi'` in the catalogue's canonical form; together
they give the δ recursion :math:`\delta_l = (W_{l+1}^\top\delta_{l+1}) \odot
\varphi'(z_l)`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from symdl.catalog import ACTIVATIONS
from symdl.catalog.code import activation_code
from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.errors import ShapeError
from symdl.unparse import to_text

__all__ = ["Activation", "Dense"]


def positive_int(value: object, what: str) -> int:
    """``value`` as a positive int, or a :class:`ShapeError` saying which argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ShapeError(f"{what} must be a positive integer, not {value!r}")
    return int(value)


class Dense(Block):
    kind = "dense"
    letter = "Z"

    def __init__(self, n_in: int, n_out: int, *, bias: bool = True) -> None:
        self.n_in = positive_int(n_in, "dense's input size")
        self.n_out = positive_int(n_out, "dense's output size")
        self.bias = bool(bias)

    @property
    def args(self) -> tuple[object, ...]:
        return (self.n_in, self.n_out)

    def input_shape(self) -> Shape:
        return (self.n_in,)

    def output_shape(self, shape: Shape) -> Shape:
        if shape != (self.n_in,):
            raise ShapeError(
                f"{self.describe()} takes vectors of size {self.n_in}, but its input has "
                f"shape {shape_text(shape)}"
            )
        return (self.n_out,)

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        w = Slot(
            "W",
            (self.n_out, self.n_in),
            r"\mathbf{W}",
            "W",
            fan_in=self.n_in,
            doc="weights, (out, in)",
        )
        if not self.bias:
            return (w,)
        return (
            w,
            Slot(
                "b", (self.n_out,), r"\mathbf{b}", "b", init="normal", fan_in=self.n_in, doc="bias"
            ),
        )

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        bias_tex = rf" + \mathbf{{1}}{w.p_tex('b')}^\top" if self.bias else ""
        bias_text = f" + 1{w.p_text('b')}ᵀ" if self.bias else ""
        return (
            Equation(
                w.y_tex,
                rf"{w.x_tex}{w.p_tex('W')}^\top{bias_tex}",
                f"{w.y_text} = {w.x_text} {w.p_text('W')}ᵀ{bias_text}",
                "one example per row; per example z = Wx + b",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        eqs = [
            Equation(
                w.gx_tex(),
                rf"{w.gy_tex()}\,{w.p_tex('W')}",
                f"{w.gx_text()} = ({w.gy_text()}) {w.p_text('W')}",
                "per example ∂L/∂x = Wᵀδ",
            ),
            Equation(
                w.g_tex("W"),
                rf"\left({w.gy_tex()}\right)^\top {w.x_tex}",
                f"{w.g_text('W')} = ({w.gy_text()})ᵀ {w.x_text}",
                "a sum over the batch of δ xᵀ",
            ),
        ]
        if self.bias:
            eqs.append(
                Equation(
                    w.g_tex("b"),
                    rf"\left({w.gy_tex()}\right)^\top \mathbf{{1}}",
                    f"{w.g_text('b')} = ({w.gy_text()})ᵀ 1",
                    "a sum over the batch of δ",
                )
            )
        return tuple(eqs)

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        bias = f" + {w.params['b']}" if self.bias else ""
        return [f"{w.y} = {w.x} @ {w.params['W']}.T{bias}"]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        lines = []
        if w.gx:
            lines.append(f"{w.gx} = {w.gy} @ {w.params['W']}")
        lines.append(f"{w.grads['W']} = {w.gy}.T @ {w.x}")
        if self.bias:
            lines.append(f"{w.grads['b']} = {w.gy}.sum(axis=0)")
        return lines

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        right = self.backward_code(w, shape)
        out = {}
        if self.n_in == self.n_out and w.gx:
            out["multiplies by Wᵀ where W belongs in ∂L/∂X (∂L/∂X = ΔW, not ΔWᵀ)"] = [
                right[0].replace(f"@ {w.params['W']}", f"@ {w.params['W']}.T"),
                *right[1:],
            ]
        if self.bias:
            out["averages ∂L/∂b over the batch instead of summing (∂L/∂b = Δᵀ1)"] = [
                line.replace(".sum(axis=0)", ".mean(axis=0)") for line in right
            ]
        return out

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        out = x @ params["W"].T
        return out + params["b"][None, :] if self.bias else out

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        grads = {"W": gy.T @ x}
        if self.bias:
            grads["b"] = gy.T @ np.ones(gy.shape[0], dtype=object)
        return gy @ params["W"], grads


#: activations whose derivative the backward pass computes from the output, as a hand
#: written backward would: tanh' = 1 − tanh², σ' = σ(1 − σ), ReLU' = H(z)
_FAST_FORWARD = {
    "identity": "{x}",
    "relu": "np.maximum({x}, 0.0)",
    "tanh": "np.tanh({x})",
    "sigmoid": "special.expit({x})",
}
_FAST_BACKWARD = {
    "identity": "{gy}",
    "relu": "{gy} * ({x} > 0)",
    "tanh": "{gy} * (1.0 - {y} * {y})",
    "sigmoid": "{gy} * ({y} * (1.0 - {y}))",
}


class Activation(Block):
    """An elementwise activation from the catalogue, at its default parameters."""

    letter = "A"

    def __init__(self, name: str) -> None:
        entry = ACTIVATIONS.get(name)
        if entry.vector:
            raise ShapeError(f"{name} is not elementwise; use a softmax output layer")
        self.entry = entry
        self.kind = entry.name  # type: ignore[misc]

    @property
    def args(self) -> tuple[object, ...]:
        return ()

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def _phi(self) -> str:
        return self.entry.latex

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        return (
            Equation(
                w.y_tex,
                rf"{self._phi()}\left({w.x_tex}\right)",
                f"{w.y_text} = {self.entry.name}({w.x_text})",
                "entrywise",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        derivative = _text(self.entry.at()[1])
        return (
            Equation(
                w.gx_tex(),
                rf"{w.gy_tex()} \odot {self._phi()}'\left({w.x_tex}\right)",
                f"{w.gx_text()} = {w.gy_text()} ⊙ {self.entry.name}'({w.x_text})",
                f"with {self.entry.name}'(x) = {derivative} (the catalogue's canonical form)",
            ),
        )

    def support(self) -> dict[str, str]:
        """Functions the generated module defines for this block (name → source)."""
        if self.entry.name in _FAST_FORWARD:
            return {}
        f = activation_code(self.entry.name)
        d = activation_code(self.entry.name, derivative=True)
        return {f"{self.entry.name}": f.source, f"{self.entry.name}_grad": d.source}

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        template = _FAST_FORWARD.get(self.entry.name, self.entry.name + "({x})")
        return [f"{w.y} = " + template.format(x=w.x)]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        if not w.gx:
            return []
        template = _FAST_BACKWARD.get(self.entry.name, "{gy} * " + self.entry.name + "_grad({x})")
        return [f"{w.gx} = " + template.format(gy=w.gy, x=w.x, y=w.y)]

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return np.vectorize(lambda v: self.entry(v), otypes=[object])(x)

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        return gy * np.vectorize(lambda v: self.entry.grad(v), otypes=[object])(x), {}


def _text(expr: Any) -> str:
    """``expr`` in the input language, or SymPy's own text where the language has no form
    (a ``Piecewise``)."""
    try:
        return to_text(expr)
    except ValueError:
        return str(expr)


def shape_text(shape: Shape) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


LAYERS.add(
    LayerKind(
        "dense",
        Dense,
        "dense(n_in, n_out)",
        "affine map z = Wx + b on a batch (W is out×in)",
        examples=(((3, 2), {}, (3,)), ((2, 4), {}, (2,))),
        reference="Rumelhart, Hinton, Williams, Learning representations by "
        "back-propagating errors, Nature 323 (1986)",
        aliases=("linear",),
    )
)


def _register_activations() -> None:
    for entry in ACTIVATIONS:
        if entry.vector:
            continue
        LAYERS.add(
            LayerKind(
                entry.name,
                functools.partial(Activation, entry.name),
                entry.name,
                f"entrywise {entry.name}: {entry.doc}",
                examples=(((), {}, (3,)), ((), {}, (2, 2))),
                reference=entry.reference,
                aliases=entry.aliases,
            )
        )


_register_activations()
