r"""``backprop(network)``: the forward equations, the δ recursion, every parameter gradient, as
equations and as generated NumPy code.

>>> res = backprop("dense(4, 3) | relu | dense(3, 2) | softmax_cross_entropy")
>>> [key for key, _ in res.parameters]
['W1', 'b1', 'W2', 'b2']
>>> params = res.init(seed=0)
>>> x, data = res.inputs(5, seed=0)
>>> loss, tape = res.forward(x, params, data)
>>> sorted(res.backward(tape)) == ['W1', 'W2', 'b1', 'b2', 'x']
True

The network is a :class:`~symdl.derive.backprop_network.Network` (from text through
:func:`~symdl.derive.network_text.parse_network`, or from a list of blocks). Each block
states its own rules (:mod:`symdl.derive.layers`); this module wires them together
(:mod:`~symdl.derive.backprop_plan`), strings their code into one module
(:mod:`~symdl.derive.backprop_code`), which is compiled exactly as shown in ``source``,
and collects the derivation (:mod:`~symdl.derive.backprop_derivation`).
:meth:`BackpropResult.check` verifies the rules and the code
(:mod:`~symdl.derive.backprop_check`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from symdl.derive.backprop_code import module_source, walk
from symdl.derive.backprop_derivation import Section, sections
from symdl.derive.backprop_network import Item, Layer, Network, shape_text
from symdl.derive.backprop_plan import ResidualStep, Step, plan
from symdl.derive.layers.base import Block, Shape, Slot
from symdl.derive.layers.check import draw
from symdl.derive.layers.source import compile_function
from symdl.derive.network_text import parse_network
from symdl.errors import ShapeError

if TYPE_CHECKING:
    from symdl.derive.backprop_check import BackpropCheck

__all__ = ["BackpropResult", "Network", "backprop", "parse_network"]


@dataclass(frozen=True)
class BackpropResult:
    """A network's derivation and its generated, compiled forward and backward code.

    ``parameters`` and ``data`` are ``(key, shape)`` pairs (data shapes per example);
    ``source`` is the module that :meth:`forward` and :meth:`backward` run.
    """

    network: Network
    steps: tuple[Step | ResidualStep, ...]
    parameters: tuple[tuple[str, Shape], ...]
    data: tuple[tuple[str, Shape], ...]
    source: str
    derivation: tuple[Section, ...]
    input_gradient: bool
    slots: Mapping[str, Slot] = field(repr=False, compare=False)
    _forward: Callable[..., Any] = field(repr=False, compare=False)
    _backward: Callable[..., Any] = field(repr=False, compare=False)

    @property
    def input_shape(self) -> Shape:
        return self.network.input_shape

    @property
    def integer_input(self) -> bool:
        first = walk(self.steps)[0].layer.block
        return bool(getattr(first, "integer_input", False))

    def init(self, *, seed: int = 0) -> dict[str, np.ndarray]:
        """A random instance of every parameter (each slot's ``init``), float64."""
        rng = np.random.default_rng(seed)
        return {key: draw(self.slots[key], None, rng) for key, _ in self.parameters}

    def inputs(self, batch: int, *, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """A random input batch ``(batch, *input_shape)`` and random data (targets, masks)."""
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a positive integer, not {batch!r}")
        rng = np.random.default_rng(seed)
        first = walk(self.steps)[0].layer.block
        if self.integer_input:
            vocab = int(getattr(first, "vocabulary", 1))
            x = draw(Slot("x", self.input_shape, "", "", init="indices", fan_in=vocab), batch, rng)
        else:
            x = rng.standard_normal((batch, *self.input_shape))
        data = {key: draw(self.slots[key], batch, rng) for key, _ in self.data}
        return x, data

    def forward(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any] | None = None
    ) -> tuple[float, dict[str, Any]]:
        """The loss and the tape (what :meth:`backward` reads)."""
        x = np.asarray(x, dtype=float)
        if x.shape[1:] != self.input_shape or x.ndim < 1:
            raise ShapeError(
                f"the input must have shape (B, {', '.join(map(str, self.input_shape))}), "
                f"not {x.shape}"
            )
        _require(params, self.parameters, "parameter", None)
        data = {} if data is None else data
        _require(data, self.data, "data", x.shape[0])
        return self._forward(x, params, data)  # type: ignore[no-any-return]

    def backward(self, tape: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every parameter's gradient (and ``"x"`` when the input is differentiated)."""
        return self._backward(tape)  # type: ignore[no-any-return]

    def check(self, *, seed: int = 0, timeout: float = 60.0, batch: int = 3) -> BackpropCheck:
        """Each distinct block's rule (symbolically, at small sizes) and the generated
        code of the whole network (finite differences); see
        :func:`symdl.derive.backprop_check.check_backprop`."""
        from symdl.derive.backprop_check import check_backprop

        return check_backprop(self, seed=seed, timeout=timeout, batch=batch)

    # ---- rendering ------------------------------------------------------------------

    def text(self, check: BackpropCheck | None = None) -> str:
        from symdl.render.backprop import backprop_text

        return backprop_text(self, check)

    def latex(self, check: BackpropCheck | None = None, *, standalone: bool = False) -> str:
        from symdl.render.backprop import backprop_latex

        return backprop_latex(self, check, standalone=standalone)

    def markdown(self, check: BackpropCheck | None = None) -> str:
        from symdl.render.backprop import backprop_markdown

        return backprop_markdown(self, check)

    def html(self, check: BackpropCheck | None = None) -> str:
        from symdl.render.backprop import backprop_html

        return backprop_html(self, check)

    def _repr_latex_(self) -> str:
        from symdl.render.backprop import backprop_latex

        return backprop_latex(self, None, standalone=False, display=True)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.text()


def _require(
    given: Mapping[str, Any], wanted: Sequence[tuple[str, Shape]], what: str, batch: int | None
) -> None:
    for key, shape in wanted:
        if key not in given:
            raise ShapeError(f"missing {what} {key!r} (shape {shape_text(shape)})")
        full = shape if batch is None else (batch, *shape)
        actual = np.shape(given[key])
        if tuple(actual) != tuple(full):
            raise ShapeError(f"{what} {key!r} must have shape {full}, not {tuple(actual)}")


def backprop(
    network: Network | str | Sequence[Item | Block],
    loss: str | Block | None = None,
    *,
    input_shape: Sequence[int] | None = None,
    input_gradient: bool = True,
) -> BackpropResult:
    """Derive and generate the backward pass of ``network`` (module doc).

    ``network`` is a :class:`Network`, a description in text (``"dense(784,128) | relu |
    ..."``) or a sequence of blocks and residual blocks (with ``input_shape`` when the
    first block does not fix it). The network must end with a loss (backpropagation
    needs a scalar) unless ``loss`` names one to append. ``input_gradient=False`` drops
    :math:`\\partial L/\\partial\\mathbf X` from the backward pass (it is never computed
    for integer token ids).
    """
    net = _network(network, input_shape)
    if loss is not None:
        if net.loss is not None:
            raise ShapeError(f"the network already ends with a loss, {net.loss.describe()}")
        net = Network.build((*net.items, _loss_layer(loss)), net.input_shape, text=net.text)
    if net.loss is None:
        raise ShapeError(
            f"the network ends with {net.items[-1].describe()}, not a loss: backpropagation "
            "needs a scalar; end it with softmax_cross_entropy, sigmoid_cross_entropy or "
            "mse (or pass loss=...)"
        )
    steps = plan(net, input_gradient=input_gradient)
    blocks = walk(steps)
    differentiable = input_gradient and not getattr(blocks[0].layer.block, "integer_input", False)
    source = module_source(steps, input_gradient=differentiable)
    forward = compile_function(source, "forward", "<symdl-backprop>")
    slots: dict[str, Slot] = {}
    for step in blocks:
        slots.update({key: slot for key, slot in step.params + step.data})
    return BackpropResult(
        network=net,
        steps=steps,
        parameters=tuple((k, s.shape) for step in blocks for k, s in step.params),
        data=tuple((k, s.shape) for step in blocks for k, s in step.data),
        source=source,
        derivation=sections(steps),
        input_gradient=differentiable,
        slots=slots,
        _forward=forward,
        _backward=forward.__globals__["backward"],  # the same compiled module
    )


def _network(network: object, input_shape: Sequence[int] | None) -> Network:
    if isinstance(network, Network):
        if input_shape is not None and tuple(input_shape) != network.input_shape:
            return Network.build(network.items, input_shape, text=network.text)
        return network
    if isinstance(network, str):
        net = parse_network(network)
        if input_shape is not None:
            return Network.build(net.items, input_shape, text=net.text)
        return net
    if isinstance(network, (list, tuple)):
        return Network.build(network, input_shape)
    raise TypeError(
        f"backprop takes a Network, a description in text or a list of blocks, "
        f"not {type(network).__name__}"
    )


def _loss_layer(loss: str | Block) -> Layer:
    if isinstance(loss, Block):
        block = loss
    else:
        from symdl.derive.network_text import layer_kind

        block = layer_kind(loss).build()
    if not block.is_loss:
        raise ShapeError(f"{block.describe()} is not a loss")
    return Layer(block, written=block.describe())
