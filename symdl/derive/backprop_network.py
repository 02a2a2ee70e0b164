r"""A network as data: a sequence of configured layers and residual blocks, shapes checked.

A :class:`Network` is what :func:`symdl.derive.backprop.backprop` differentiates: its
items are :class:`Layer` s (a :class:`~symdl.derive.layers.base.Block` with how it was
written) and :class:`Residual` blocks :math:`\mathbf y = \mathbf x + F(\mathbf x)` (He,
Zhang, Ren, Sun, *Deep residual learning for image recognition*, CVPR 2016, Sec. 3.2),
whose branch :math:`F` is itself a sequence. Building a network infers the per-example
shape after every item and refuses, with a message naming both layers, an output that the
next layer cannot take; a loss may only end the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

from symdl.derive.layers.base import Block, Shape, Slot
from symdl.errors import ShapeError, with_caret

__all__ = [
    "MAX_ENTRIES",
    "MAX_LAYERS",
    "MAX_PARAMETERS",
    "Layer",
    "Network",
    "Residual",
    "shape_text",
]

#: at most this many layers in one network (counting those inside residual blocks)
MAX_LAYERS = 512
#: at most this many parameter entries in one network (8 bytes each)
MAX_PARAMETERS = 100_000_000
#: at most this many entries in one example's input or in any layer's output
MAX_ENTRIES = 100_000_000


def shape_text(shape: Shape) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


@dataclass(frozen=True)
class Layer:
    """One configured block, with the keyword arguments and the text it was written as
    (``col`` is its column in the network description, for error carets)."""

    block: Block
    kwargs: tuple[tuple[str, object], ...] = ()
    written: str = ""
    col: int | None = None

    def describe(self) -> str:
        return self.written or self.block.describe()


@dataclass(frozen=True)
class Residual:
    r"""A residual block :math:`\mathbf y = \mathbf x + F(\mathbf x)` with branch ``F``."""

    branch: tuple[Layer | Residual, ...]
    written: str = ""
    col: int | None = None

    def describe(self) -> str:
        if self.written:
            return self.written
        return "residual(" + " | ".join(item.describe() for item in self.branch) + ")"


Item = Layer | Residual


@dataclass(frozen=True)
class Network:
    """Layers and residual blocks in order, with the per-example input shape and the
    shape after each item (``shapes[i]`` is the output shape of ``items[i]``)."""

    items: tuple[Item, ...]
    input_shape: Shape
    shapes: tuple[Shape, ...]
    text: str = ""

    @classmethod
    def build(
        cls,
        items: Sequence[Item | Block],
        input_shape: Sequence[int] | None = None,
        *,
        text: str = "",
    ) -> Network:
        """Check the shapes through ``items`` (blocks are wrapped as layers) and return
        the network; a :class:`ShapeError` names the layers that do not fit."""
        wrapped = tuple(_wrap(item) for item in items)
        if not wrapped:
            raise ShapeError("a network needs at least one layer")
        count = _count(wrapped)
        if count > MAX_LAYERS:
            raise ShapeError(f"a network may have at most {MAX_LAYERS} layers, not {count}")
        if input_shape is None:
            first = _first_block(wrapped[0])
            fixed = first.input_shape()
            if fixed is None:
                raise ShapeError(
                    with_caret(
                        f"the first layer, {first.describe()}, does not fix the input shape; "
                        "start the network with input(...), e.g. input(1, 28, 28)",
                        text,
                        _col(wrapped[0]),
                    )
                )
            shape: Shape = tuple(fixed)
        else:
            shape = tuple(int(s) for s in input_shape)
            if any(s < 1 for s in shape):
                raise ShapeError(f"input shape {shape} must have positive sizes")
        if prod(shape) > MAX_ENTRIES:
            raise ShapeError(
                f"the input has {prod(shape):,} entries per example; at most {MAX_ENTRIES:,}"
            )
        start = shape
        shapes = _infer(wrapped, shape, text, "", top=True)
        net = cls(wrapped, start, shapes, text)
        total = sum(prod(s.shape) for s in net.parameter_slots())
        if total > MAX_PARAMETERS:
            raise ShapeError(
                f"the network has {total:,} parameters; at most {MAX_PARAMETERS:,} are allowed"
            )
        return net

    @property
    def output_shape(self) -> Shape:
        return self.shapes[-1]

    @property
    def loss(self) -> Block | None:
        last = self.items[-1]
        return last.block if isinstance(last, Layer) and last.block.is_loss else None

    def describe(self) -> str:
        head = "input(" + ", ".join(map(str, self.input_shape)) + ") | "
        return head + " | ".join(item.describe() for item in self.items)

    def parameter_slots(self) -> list[Slot]:
        """Every parameter slot of every block, in order (for counting)."""
        out: list[Slot] = []
        shape = self.input_shape
        for item, after in zip(self.items, self.shapes):
            out += _slots(item, shape)
            shape = after
        return out


def _slots(item: Item, shape: Shape) -> list[Slot]:
    if isinstance(item, Layer):
        return list(item.block.parameters(shape))
    out: list[Slot] = []
    for inner in item.branch:
        out += _slots(inner, shape)
        shape = _out(inner, shape)
    return out


def _out(item: Item, shape: Shape) -> Shape:
    if isinstance(item, Layer):
        return item.block.output_shape(shape)
    return shape


def _wrap(item: object) -> Item:
    if isinstance(item, (Layer, Residual)):
        return item
    if isinstance(item, Block):
        return Layer(item)
    raise TypeError(f"a network's items are blocks, Layer or Residual, not {type(item).__name__}")


def _count(items: Sequence[Item]) -> int:
    return sum(1 if isinstance(i, Layer) else 1 + _count(i.branch) for i in items)


def _first_block(item: Item) -> Block:
    while isinstance(item, Residual):
        item = item.branch[0]
    return item.block


def _col(item: Item) -> int | None:
    return item.col


def _infer(
    items: Sequence[Item], shape: Shape, text: str, prefix: str, *, top: bool
) -> tuple[Shape, ...]:
    """The output shape of each item in turn, from input ``shape``."""
    out: list[Shape] = []
    previous: str | None = None
    for number, item in enumerate(items, 1):
        label = f"layer {prefix}{number}"
        if isinstance(item, Residual):
            if not item.branch:
                raise ShapeError(
                    with_caret(f"{label}: residual(...) needs a layer", text, item.col)
                )
            inner = _infer(item.branch, shape, text, f"{prefix}{number}.", top=False)
            if inner[-1] != shape:
                raise ShapeError(
                    with_caret(
                        f"{label}: the branch of {item.describe()} maps shape "
                        f"{shape_text(shape)} to {shape_text(inner[-1])}; y = x + F(x) needs "
                        "them equal",
                        text,
                        item.col,
                    )
                )
            after = shape
        else:
            block = item.block
            if block.is_loss and (not top or number != len(items)):
                where = "inside a residual block" if not top else f"at {label} of {len(items)}"
                raise ShapeError(
                    with_caret(
                        f"{item.describe()} is a loss {where}; a loss can only end the network",
                        text,
                        item.col,
                    )
                )
            try:
                after = tuple(block.output_shape(shape))
            except ShapeError as err:
                raise ShapeError(
                    with_caret(_mismatch(f"{label}: {err}", shape, previous), text, item.col)
                ) from None
        if prod(after) > MAX_ENTRIES:
            raise ShapeError(
                with_caret(
                    f"{label} outputs {prod(after):,} entries per example; at most "
                    f"{MAX_ENTRIES:,} are allowed",
                    text,
                    item.col,
                )
            )
        out.append(after)
        previous = f"{label} ({item.describe()})"
        shape = after
    return tuple(out)


def _mismatch(message: str, shape: Shape, previous: str | None) -> str:
    """The block's own shape message, saying which layer produced the input."""
    own = f"its input has shape {shape_text(shape)}"
    source = f"{previous} outputs {shape_text(shape)}" if previous else None
    if source is None:
        return message.replace(own, f"the network's input has shape {shape_text(shape)}")
    if own in message:
        return message.replace(own, source)
    return f"{message} (its input: {source})"
