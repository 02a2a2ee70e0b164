r"""Naming every value of a network: the :class:`~symdl.derive.layers.base.Wiring` of each block.

A block's output is named by its letter and its layer index :math:`l` (the number of
blocks with parameters up to and including it): ``dense → Z₁``, ``relu → A₁``, ``dense →
Z₂``; the loss is :math:`L`. Parameters are keyed by slot name and :math:`l` (``W1``,
``b1``), the loss's data by slot name (``Y``), other data by slot name and :math:`l`.
Gradients are ``g`` + the name (``gz1`` is :math:`\partial L/\partial\mathbf Z_1`). A
residual block names its branch's input :math:`\mathbf U_l` (the same array as its input)
and its output :math:`\mathbf R_l`, so that the two paths of the gradient keep distinct
names. ``needs_gx`` is false for every value upstream of which nothing is differentiated:
then no block computes its gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symdl.derive.backprop_network import Item, Layer, Network
from symdl.derive.layers.base import Shape, Slot, Wiring

__all__ = ["ResidualStep", "Step", "Value", "has_params", "plan"]

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Value:
    """One array of the network: its code name, TeX and Unicode names."""

    code: str
    tex: str
    text: str

    @property
    def grad(self) -> str:
        return "g" + self.code


@dataclass(frozen=True)
class Step:
    """One block, wired: its layer, label (``layer 3`` or ``layer 2.1``), index l,
    shapes, names, and the keys of its parameters and data in the network."""

    layer: Layer
    label: str
    index: int
    in_shape: Shape
    out_shape: Shape
    x: Value
    y: Value
    wiring: Wiring
    params: tuple[tuple[str, Slot], ...]
    data: tuple[tuple[str, Slot], ...]
    needs_gx: bool


@dataclass(frozen=True)
class ResidualStep:
    r"""A residual block :math:`\mathbf R = \mathbf X + F(\mathbf U)`, :math:`\mathbf U =
    \mathbf X`, with its branch's steps."""

    label: str
    index: int
    shape: Shape
    x: Value
    u: Value
    y: Value
    branch: tuple[Step | ResidualStep, ...]
    needs_gx: bool


@dataclass
class _State:
    index: int = 0
    counter: int = 0
    used: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)


def plan(net: Network, *, input_gradient: bool = True) -> tuple[Step | ResidualStep, ...]:
    """The wired steps of ``net`` (module doc); the input is ``x``, :math:`\\mathbf X`."""
    state = _State(used={"x", "loss", "params", "data", "tape", "np", "special"})
    x = Value("x", r"\mathbf{X}", "X")
    first = net.items[0]
    integer = isinstance(first, Layer) and bool(getattr(first.block, "integer_input", False))
    steps, _ = _sequence(net.items, net.input_shape, x, state, "", input_gradient and not integer)
    return steps


def _sequence(
    items: tuple[Item, ...], shape: Shape, x: Value, state: _State, prefix: str, need: bool
) -> tuple[tuple[Step | ResidualStep, ...], Value]:
    out: list[Step | ResidualStep] = []
    for number, item in enumerate(items, 1):
        label = f"layer {prefix}{number}"
        if isinstance(item, Layer):
            step = _step(item, label, shape, x, state, need)
            need = need or bool(step.params)
            out.append(step)
            x, shape = step.y, step.out_shape
            continue
        index = max(state.index, 1)
        u = _value("U", index, state)
        branch, last = _sequence(item.branch, shape, u, state, f"{prefix}{number}.", need)
        y = _value("R", index, state)
        out.append(ResidualStep(label, index, shape, x, u, y, branch, need))
        need = need or any(has_params(s) for s in branch)
        del last
        x = y
    return tuple(out), x


def has_params(step: Step | ResidualStep) -> bool:
    if isinstance(step, Step):
        return bool(step.params)
    return any(has_params(s) for s in step.branch)


def _step(layer: Layer, label: str, shape: Shape, x: Value, state: _State, need: bool) -> Step:
    block = layer.block
    slots = block.parameters(shape)
    if slots:
        state.index += 1
    index = state.index
    state.counter += 1
    out_shape = tuple(block.output_shape(shape))
    y = Value("loss", "L", "L") if block.is_loss else _value(block.letter, index, state)
    params = tuple((_key(s.name, index, state), s) for s in slots)
    data = tuple(
        (_key(s.name, None if block.is_loss else index, state), s) for s in block.data(shape)
    )
    code = {key: _code(key, state) for key, _ in params + data}
    wiring = Wiring(
        x=x.code,
        y=y.code,
        gx=x.grad if need and not getattr(block, "integer_input", False) else "",
        gy=y.grad,
        params={s.name: code[k] for k, s in params},
        grads={s.name: "g" + code[k] for k, s in params},
        data={s.name: code[k] for k, s in data},
        tmp=f"t{state.counter}_",
        x_tex=x.tex,
        y_tex=y.tex,
        x_text=x.text,
        y_text=y.text,
        params_tex={s.name: _subscript_tex(s.latex, index) for _, s in params},
        params_text={s.name: f"{s.text}{str(index).translate(_SUB)}" for _, s in params},
        data_tex={
            s.name: s.latex if block.is_loss else _subscript_tex(s.latex, index) for _, s in data
        },
        data_text={
            s.name: s.text if block.is_loss else f"{s.text}{str(index).translate(_SUB)}"
            for _, s in data
        },
    )
    return Step(layer, label, index, shape, out_shape, x, y, wiring, params, data, need)


def _subscript_tex(tex: str, index: int) -> str:
    return f"{{{tex}}}_{{{index}}}" if "_" in tex or "^" in tex else f"{tex}_{{{index}}}"


def _value(letter: str, index: int, state: _State) -> Value:
    base = f"{letter.lower()}{index}"
    suffix = ""
    for extra in ["", *"bcdefghijklmnopqrstuvwxyz"]:
        if base + extra not in state.used:
            suffix = extra
            break
    else:
        suffix = f"_{state.counter}"
    state.used.add(base + suffix)
    sub = f"{index}{suffix}"
    return Value(
        base + suffix,
        rf"\mathbf{{{letter}}}_{{{sub}}}",
        f"{letter}{str(index).translate(_SUB)}{suffix}",
    )


def _key(name: str, index: int | None, state: _State) -> str:
    key = name if index is None else f"{name}{index}"
    candidate, n = key, 1
    while candidate in state.keys:
        n += 1
        candidate = f"{key}_{n}"
    state.keys.add(candidate)
    return candidate


def _code(key: str, state: _State) -> str:
    name = key if key.isidentifier() and key not in state.used else f"p_{key}"
    while name in state.used or not name.isidentifier():
        name = "p_" + name
    state.used.add(name)
    return name
