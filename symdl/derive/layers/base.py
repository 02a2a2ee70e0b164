r"""Layers as data: the forward equations, the parameters and the vector–Jacobian products.

A :class:`Block` is one configured layer (``dense(784, 128)``, ``conv2d(1, 8, 3)``). It
states, for an input of known per-example shape,

* its **equations** in matrix notation, forward and backward, in LaTeX and in Unicode
  text (:class:`Equation`), with the names :class:`Wiring` gives it inside a network;
* its **parameters** and **data** (inputs that are not differentiated: the targets of a
  loss, a dropout mask) as :class:`Slot` s with shapes;
* its **NumPy code**, forward and backward, as source lines that read and write the
  names :class:`Wiring` gives it; :mod:`symdl.derive.backprop` strings the lines of a
  network together into one module;
* its **explicit rule**: the forward pass and the backward rule (the same vector–Jacobian
  products as the equations) on NumPy object arrays of SymPy symbols, so that
  :mod:`symdl.derive.layers.check` can compare the rule with SymPy's entrywise
  derivative at small concrete sizes.

Conventions. Arrays are batch-first: a batch of ``B`` examples of per-example shape
``s`` is an array of shape ``(B, *s)``; a dense layer's weight has shape
``(out, in)`` (as in PyTorch), so on a batch :math:`\mathbf Z = \mathbf X \mathbf W^\top
+ \mathbf 1 \mathbf b^\top` and, per example (a column), :math:`z = Wx + b`. The
backward pass of a block maps :math:`\boldsymbol\Delta_{\text{out}} = \partial L /
\partial(\text{output})` to :math:`\partial L/\partial(\text{input})` and to
:math:`\partial L/\partial\theta` for each parameter, each the shape of what it is the
gradient of (denominator layout). A loss block's output is a scalar, the mean over the
batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from symdl.registry import Registry

__all__ = [
    "LAYERS",
    "Block",
    "Equation",
    "LayerKind",
    "Shape",
    "Slot",
    "Wiring",
    "symbols",
]

Shape = tuple[int, ...]
#: An object array of SymPy expressions (the explicit, entrywise form of a tensor).
Explicit = Any


@dataclass(frozen=True)
class Equation:
    """One line of matrix notation: ``lhs = rhs`` in LaTeX, and in Unicode as ``text``."""

    lhs: str
    rhs: str
    text: str
    note: str = ""  # what the line is, in words ("the δ recursion", "the term that vanishes")


@dataclass(frozen=True)
class Slot:
    r"""A named tensor a block reads: a parameter (differentiated) or data (not).

    ``shape`` is per block for parameters and per example for data (the batch axis is
    prepended). ``init`` says how a random instance is drawn: ``"normal"`` (standard
    normal scaled by :math:`1/\sqrt{\text{fan-in}}`, fan-in = ``fan_in``), ``"zeros"``,
    ``"ones"``, ``"one_hot"`` (rows of the identity: classification targets),
    ``"probabilities"``, ``"mask"`` (a Bernoulli keep-mask, 1 with probability
    ``keep``), ``"indices"`` (integer token ids below ``fan_in``), ``"uniform"``.
    """

    name: str
    shape: Shape
    latex: str
    text: str
    init: str = "normal"
    fan_in: int = 1
    doc: str = ""
    keep: float = 0.5  # the keep probability of a "mask"


@dataclass(frozen=True)
class Wiring:
    r"""The names a block's equations and code use inside one network.

    Code names are Python identifiers of the generated module: ``x`` (input), ``y``
    (output), ``gy`` (:math:`\partial L/\partial y`), ``gx`` (:math:`\partial L/\partial
    x`, empty when nothing needs it), ``params[name]`` and ``grads[name]`` for each
    parameter, ``data[name]`` for each data slot, and ``tmp`` a prefix for the block's
    own temporaries (``f"{w.tmp}mu"``). TeX and text names are what the equations print.
    """

    x: str = "x"
    y: str = "y"
    gx: str = "gx"
    gy: str = "gy"
    params: Mapping[str, str] = field(default_factory=dict)
    grads: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] = field(default_factory=dict)
    tmp: str = "t_"
    x_tex: str = r"\mathbf{X}"
    y_tex: str = r"\mathbf{Y}"
    x_text: str = "X"
    y_text: str = "Y"
    params_tex: Mapping[str, str] = field(default_factory=dict)
    params_text: Mapping[str, str] = field(default_factory=dict)
    data_tex: Mapping[str, str] = field(default_factory=dict)
    data_text: Mapping[str, str] = field(default_factory=dict)

    def gx_tex(self) -> str:
        return _grad_tex(self.x_tex)

    def gy_tex(self) -> str:
        return _grad_tex(self.y_tex)

    def gx_text(self) -> str:
        return f"∂L/∂{self.x_text}"

    def gy_text(self) -> str:
        return f"∂L/∂{self.y_text}"

    def p_tex(self, name: str) -> str:
        return self.params_tex[name]

    def p_text(self, name: str) -> str:
        return self.params_text[name]

    def g_tex(self, name: str) -> str:
        return _grad_tex(self.params_tex[name])

    def g_text(self, name: str) -> str:
        return f"∂L/∂{self.params_text[name]}"


def _grad_tex(tex: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {tex}}}"


class Block(ABC):
    """One configured layer; subclasses are registered as a :class:`LayerKind`."""

    #: the registry name, e.g. ``"dense"``
    kind: ClassVar[str]
    #: the letter a network names this block's output with (``Z`` for an affine map)
    letter: ClassVar[str] = "H"
    #: a loss block ends the network and outputs the scalar loss
    is_loss: ClassVar[bool] = False

    @property
    @abstractmethod
    def args(self) -> tuple[object, ...]:
        """The configuration as written in a network description."""

    def describe(self) -> str:
        """The block as written in a network description: ``dense(784, 128)``."""
        inner = ", ".join(_arg_text(a) for a in self.args)
        return f"{self.kind}({inner})" if self.args else self.kind

    @abstractmethod
    def output_shape(self, shape: Shape) -> Shape:
        """The per-example output shape for input shape ``shape``; a
        :class:`~symdl.errors.ShapeError` naming the block when it does not fit."""

    def input_shape(self) -> Shape | None:
        """The per-example input shape the configuration fixes (``dense(784, 128)`` →
        ``(784,)``), or ``None`` when any shape of the right rank fits."""
        return None

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        """The parameters of this block for input shape ``shape``."""
        return ()

    def data(self, shape: Shape) -> tuple[Slot, ...]:
        """Inputs that are not differentiated (targets, masks), per example."""
        return ()

    # ---- equations ------------------------------------------------------------------

    @abstractmethod
    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        """The forward pass in matrix notation."""

    @abstractmethod
    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        """The vector–Jacobian products: ∂L/∂x and ∂L/∂θ from ∂L/∂y."""

    # ---- code -----------------------------------------------------------------------

    def support(self) -> dict[str, str]:
        """Functions the generated module must define for this block (name → source)."""
        return {}

    @abstractmethod
    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        """Python lines (NumPy as ``np``, SciPy's special as ``special``) computing
        ``w.y`` from ``w.x``, the parameters and the data."""

    @abstractmethod
    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        """Python lines computing ``w.gx`` (when ``w.gx`` is not empty) and each
        ``w.grads[name]`` from ``w.gy`` and the names the forward lines bound."""

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        """Wrong backward passes people write, each as the backward lines it would be,
        named by its mistake ("forgets the term through the batch mean μ"). When a
        user's backward fails :func:`symdl.testing.check_layer` and matches one of these
        at every checked point, the failure names it. None by default."""
        return {}

    # ---- the explicit rule ----------------------------------------------------------

    @abstractmethod
    def forward_explicit(
        self, x: Explicit, params: Mapping[str, Explicit], data: Mapping[str, Any]
    ) -> Explicit:
        """The forward pass on object arrays of SymPy expressions (batch-first)."""

    @abstractmethod
    def backward_explicit(
        self, x: Explicit, params: Mapping[str, Explicit], data: Mapping[str, Any], gy: Explicit
    ) -> tuple[Explicit, dict[str, Explicit]]:
        """The backward rule the equations state, on object arrays: (∂L/∂x, {θ: ∂L/∂θ}).

        ``gy`` has the output's shape (a SymPy symbol for a loss block)."""


def _arg_text(a: object) -> str:
    if isinstance(a, tuple):
        return "(" + ", ".join(str(v) for v in a) + ")"
    return str(a)


@dataclass(frozen=True)
class LayerKind:
    r"""A kind of layer in the registry: how to build a :class:`Block` from its
    arguments, what the arguments mean, the references for its backward rule, and small
    configurations (``examples``: ``(args, kwargs, input shape)``) at which the test
    suite checks it."""

    name: str
    build: Callable[..., Block]
    signature: str
    doc: str
    examples: tuple[tuple[tuple[Any, ...], Mapping[str, Any], Shape], ...]
    reference: str = ""
    aliases: tuple[str, ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Block:
        return self.build(*args, **kwargs)


LAYERS = Registry[LayerKind]("layer")


def symbols(prefix: str, shape: Shape, *, positive: bool = False) -> Explicit:
    """An object array of real SymPy symbols ``prefix_i_j…`` of ``shape``."""
    import sympy as sp

    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        label = "_".join(str(i) for i in index)
        out[index] = sp.Symbol(
            f"{prefix}_{label}" if label else prefix, real=True, positive=positive or None
        )
    return out
