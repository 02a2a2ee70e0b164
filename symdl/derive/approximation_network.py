r"""Feed-forward networks with exact weights: the objects approximation constructions return.

A :class:`Network` is a stack of :class:`Layer`\ s, each :math:`z \mapsto \sigma(Wz + b)`
with ``W`` and ``b`` exact SymPy numbers (rationals for the ReLU constructions) and
:math:`\sigma` a scalar catalogue activation applied entrywise (``identity`` for the
output layer). The same network is available as NumPy arrays, as a NumPy forward
function, as JSON, and can be evaluated exactly (ReLU networks with rational weights, at
rational points) or at any precision with mpmath.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from symdl.catalog import ACTIVATIONS
from symdl.catalog.entry import X
from symdl.errors import ShapeError, UnsupportedError
from symdl.verify.precise import Evaluator

__all__ = ["Layer", "Network"]

_CHUNK = 2**22

#: Activations evaluated exactly on SymPy rationals (piecewise linear with rational kinks).
_EXACT: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "identity": lambda z: z,
    "relu": lambda z: z if z > 0 else sp.S.Zero,
}


@dataclass(frozen=True)
class Layer:
    r"""One layer :math:`z \mapsto \sigma(Wz + b)`: ``weights`` is out × in, row by row."""

    weights: tuple[tuple[sp.Expr, ...], ...]
    biases: tuple[sp.Expr, ...]
    activation: str = "relu"

    def __post_init__(self) -> None:
        exact = tuple(tuple(sp.sympify(w) for w in row) for row in self.weights)
        object.__setattr__(self, "weights", exact)
        object.__setattr__(self, "biases", tuple(sp.sympify(b) for b in self.biases))
        if len(self.weights) != len(self.biases):
            raise ShapeError(
                f"a layer with {len(self.weights)} weight rows needs as many biases, "
                f"got {len(self.biases)}"
            )
        if len({len(row) for row in self.weights}) > 1:
            raise ShapeError("the weight rows of a layer have different lengths")
        ACTIVATIONS.get(self.activation)  # an unknown name fails here, with a suggestion

    @property
    def fan_in(self) -> int:
        return len(self.weights[0]) if self.weights else 0

    @property
    def width(self) -> int:
        return len(self.biases)


@dataclass(frozen=True)
class Network:
    """A feed-forward network of ``layers`` taking the named scalar ``inputs``.

    >>> one = sp.Integer(1)
    >>> net = Network((Layer(((one,), (one,)), (sp.S.Zero, -one), "relu"),
    ...                Layer(((one, -one),), (sp.S.Zero,), "identity")), ("x",))
    >>> net.exact([sp.Rational(3, 2)]), float(net.forward(np.array([0.5]))[0])
    (1, 0.5)
    """

    layers: tuple[Layer, ...]
    inputs: tuple[str, ...] = ("x",)

    def __post_init__(self) -> None:
        fan = len(self.inputs)
        for i, layer in enumerate(self.layers):
            if layer.fan_in != fan:
                raise ShapeError(f"layer {i} takes {layer.fan_in} inputs but receives {fan}")
            fan = layer.width
        if fan != 1:
            raise ShapeError(f"the last layer must have one output, it has {fan}")

    @property
    def neurons(self) -> int:
        """Hidden units: the widths of every layer but the output layer."""
        return sum(layer.width for layer in self.layers[:-1])

    @property
    def depth(self) -> int:
        """Hidden layers."""
        return len(self.layers) - 1

    @property
    def parameters(self) -> int:
        """Weights and biases of the dense layers, zeros included."""
        return sum(layer.width * (layer.fan_in + 1) for layer in self.layers)

    @property
    def nonzero(self) -> int:
        """Weights and biases that are not zero."""
        return sum(
            sum(1 for row in ly.weights for w in row if w != 0)
            + sum(1 for b in ly.biases if b != 0)
            for ly in self.layers
        )

    def arrays(self) -> list[tuple[np.ndarray, np.ndarray, str]]:
        """``(W, b, activation)`` per layer as float64 arrays (correctly rounded)."""
        return [(w.copy(), b.copy(), act) for w, b, act in self._arrays]

    @cached_property
    def _arrays(self) -> list[tuple[np.ndarray, np.ndarray, str]]:
        return [(_floats(ly.weights), _floats(ly.biases), ly.activation) for ly in self.layers]

    def forward(self, *xs: Any) -> np.ndarray:
        """The network on NumPy arrays of inputs (one array per input, broadcast together)."""
        if len(xs) != len(self.inputs):
            raise TypeError(f"the network takes {len(self.inputs)} inputs, got {len(xs)}")
        arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in xs))
        shape = arrays[0].shape
        z = np.stack([a.ravel() for a in arrays])
        layers = self._arrays
        widest = max(w.shape[0] for w, _, _ in layers)
        chunk = max(1, _CHUNK // widest)  # bounded memory: width × chunk floats at a time
        out = np.empty(z.shape[1])
        for start in range(0, z.shape[1], chunk):
            part = z[:, start : start + chunk]
            for w, b, act in layers:
                part = _numpy_activation(act)(w @ part + b[:, None])
            out[start : start + chunk] = part[0]
        return out.reshape(shape)

    def exact(self, point: Sequence[sp.Expr]) -> sp.Expr:
        """The value at ``point`` in exact arithmetic (ReLU/identity layers only)."""
        z = [sp.sympify(v) for v in point]
        for layer in self.layers:
            act = _EXACT.get(layer.activation)
            if act is None:
                raise ValueError(f"exact evaluation needs ReLU layers, not {layer.activation}")
            z = [
                act(sum((w * v for w, v in zip(row, z)), sp.S.Zero) + b)
                for row, b in zip(layer.weights, layer.biases)
            ]
        return z[0]

    def precise(self, point: Sequence[Any], *, dps: int = 30) -> mpmath.mpf:
        """The value at ``point`` with mpmath at ``dps`` significant digits."""
        layers = self._mp_layers(dps)
        with mpmath.workdps(dps + 10):
            z = [mpmath.mpf(v) if not isinstance(v, sp.Basic) else _mp(v, dps) for v in point]
            for rows, biases, name in layers:
                act = _mpmath_activation(name, dps)
                z = [act(mpmath.fsum(w * z[j] for j, w in row) + b) for row, b in zip(rows, biases)]
        with mpmath.workdps(dps):
            return +z[0]

    def _mp_layers(
        self, dps: int
    ) -> list[tuple[list[list[tuple[int, mpmath.mpf]]], list[mpmath.mpf], str]]:
        """Per layer: the nonzero weights of each row as (column, value), biases, activation."""
        cache = self._mp_cache
        if dps not in cache:
            cache[dps] = [
                (
                    [[(j, _mp(w, dps)) for j, w in enumerate(row) if w != 0] for row in ly.weights],
                    [_mp(b, dps) for b in ly.biases],
                    ly.activation,
                )
                for ly in self.layers
            ]
        return cache[dps]

    @cached_property
    def _mp_cache(self) -> dict[int, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Exact weights as strings (SymPy syntax) and as floats, layer by layer."""
        return {
            "inputs": list(self.inputs),
            "neurons": self.neurons,
            "depth": self.depth,
            "layers": [
                {
                    "activation": layer.activation,
                    "weights": [[str(w) for w in row] for row in layer.weights],
                    "biases": [str(b) for b in layer.biases],
                    "weights_float": _floats(layer.weights).tolist(),
                    "biases_float": _floats(layer.biases).tolist(),
                }
                for layer in self.layers
            ],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def numpy_source(self, name: str = "network") -> str:
        """Python source of a NumPy forward function with the weights written out."""
        lines = [f"def {name}({', '.join(self.inputs)}):"]
        stacked = ", ".join(f"np.asarray({v}, dtype=float)" for v in self.inputs)
        lines.append(f"    z = np.stack(np.broadcast_arrays({stacked}))")
        lines.append("    shape = z.shape[1:]")
        lines.append("    z = z.reshape(len(z), -1)")
        for w, b, act in self._arrays:
            rows = repr(w.tolist())
            lines.append(f"    z = np.array({rows}) @ z + np.array({b.tolist()!r})[:, None]")
            if act == "relu":
                lines.append("    z = np.maximum(z, 0.0)")
            elif act != "identity":
                lines.append(f"    z = {act}(z)  # symdl.catalog.activation_code({act!r})")
        lines.append("    return z[0].reshape(shape)")
        return "\n".join(lines)


def _floats(values: Any) -> np.ndarray:
    out = np.array(_nested_float(values), dtype=float)
    if not np.all(np.isfinite(out)):
        raise UnsupportedError("a weight or bias of the network is beyond the float64 range")
    return out


def _nested_float(values: Any) -> Any:
    if isinstance(values, tuple):
        return [_nested_float(v) for v in values]
    return float(values) if isinstance(values, sp.Rational) else float(_mp(values, 20))


def _mp(value: sp.Expr, dps: int) -> mpmath.mpf:
    if isinstance(value, sp.Rational):
        return mpmath.mpf(int(value.p)) / int(value.q)
    return Evaluator({}, dps=dps + 10)(value)


@cache
def _numpy_activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    if name == "identity":
        return lambda z: z
    if name == "relu":
        return lambda z: np.maximum(z, 0.0)
    from symdl.catalog.code import activation_code

    code = activation_code(name)
    return lambda z: np.asarray(code(z))


def _mpmath_activation(name: str, dps: int) -> Callable[[mpmath.mpf], mpmath.mpf]:
    if name == "identity":
        return lambda z: z
    if name == "relu":
        return lambda z: z if z > 0 else mpmath.mpf(0)
    expr = ACTIVATIONS.get(name).at()[0]
    return lambda z: Evaluator({X: z}, dps=dps)(expr)
