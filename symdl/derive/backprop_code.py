r"""The generated NumPy module of a network: ``forward(x, params, data)`` and ``backward(tape)``.

``forward`` binds each parameter and data array to its name, runs every block's forward
lines in order and returns the loss (a float) and the *tape*: every forward name the
backward function's syntax tree loads (loops included; a name the backward lines would
overwrite before reading it is kept too, which costs a reference, never correctness).
``backward`` unpacks the tape, sets :math:`\partial L/\partial L = 1`, runs the blocks'
backward lines in reverse order — for a residual block :math:`\mathbf R = \mathbf X +
F(\mathbf X)`, the branch receives :math:`\partial L/\partial\mathbf R` and
:math:`\partial L/\partial\mathbf X = \partial L/\partial\mathbf R + \partial
L/\partial\mathbf U` — and returns each parameter's gradient keyed as in the network,
plus ``"x"`` when the input is differentiated. Support functions the blocks need are
defined once.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence

from symdl.derive.backprop_plan import ResidualStep, Step, has_params
from symdl.derive.layers.source import HEADER, indent

__all__ = ["module_source", "walk"]


def walk(steps: Sequence[Step | ResidualStep]) -> list[Step]:
    """Every block step in forward order (branches inlined)."""
    out: list[Step] = []
    for step in steps:
        if isinstance(step, Step):
            out.append(step)
        else:
            out += walk(step.branch)
    return out


def module_source(steps: Sequence[Step | ResidualStep], *, input_gradient: bool) -> str:
    """The generated module's text (module doc)."""
    blocks = walk(steps)
    support: dict[str, str] = {}
    for step in blocks:
        for name, source in step.layer.block.support().items():
            if support.setdefault(name, source) != source:
                raise ValueError(f"two blocks define the support function {name} differently")
    params = [(key, step.wiring.params[slot.name]) for step in blocks for key, slot in step.params]
    data = [(key, step.wiring.data[slot.name]) for step in blocks for key, slot in step.data]
    forward = [f"{name} = params[{key!r}]" for key, name in params]
    forward += [f"{name} = data[{key!r}]" for key, name in data]
    forward += _forward(steps)
    backward = ["gloss = 1.0", *_backward(steps)]
    grads = [f"{key!r}: g{name}" for key, name in params]
    if input_gradient:
        grads.append("'x': gx")
    backward.append("return {" + ", ".join(grads) + "}")
    loaded, stored = _names(backward)
    bound = {"x"} | {name for _, name in params + data} | _names(forward)[1]
    tape = sorted(loaded & bound)
    known = bound | stored | {"np", "special", *support, *_KERNELS, *dir(builtins)}
    missing = sorted(loaded - known)
    if missing:
        raise ValueError(f"the backward lines read names nothing defines: {', '.join(missing)}")
    forward.append("return float(loss), {" + ", ".join(f"{n!r}: {n}" for n in tape) + "}")
    unpack = [f"{n} = tape[{n!r}]" for n in tape]
    parts = [HEADER.rstrip("\n"), *support.values()]
    parts.append("\n".join(["def forward(x, params, data):", *indent(forward)]))
    parts.append("\n".join(["def backward(tape):", *indent(unpack + backward)]))
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


_KERNELS = ("log_softmax", "normal_cdf", "softmax")


def _forward(steps: Sequence[Step | ResidualStep]) -> list[str]:
    lines: list[str] = []
    for step in steps:
        if isinstance(step, Step):
            lines += step.layer.block.forward_code(step.wiring, step.in_shape)
        else:
            lines.append(f"{step.u.code} = {step.x.code}")
            lines += _forward(step.branch)
            last = step.branch[-1].y
            lines.append(f"{step.y.code} = {step.x.code} + {last.code}")
    return lines


def _backward(steps: Sequence[Step | ResidualStep]) -> list[str]:
    lines: list[str] = []
    for step in reversed(steps):
        if isinstance(step, Step):
            if step.params or step.wiring.gx:
                lines += step.layer.block.backward_code(step.wiring, step.in_shape)
        elif step.needs_gx or has_params(step):
            last = step.branch[-1].y
            lines.append(f"{last.grad} = {step.y.grad}")
            lines += _backward(step.branch)
            if step.needs_gx:
                lines.append(f"{step.x.grad} = {step.y.grad} + {step.u.grad}")
    return lines


def _names(lines: list[str]) -> tuple[set[str], set[str]]:
    """The names the lines load and the names they store, anywhere (loops included)."""
    names = [n for n in ast.walk(ast.parse("\n".join(lines))) if isinstance(n, ast.Name)]
    loaded = {n.id for n in names if isinstance(n.ctx, ast.Load)}
    return loaded, {n.id for n in names if not isinstance(n.ctx, ast.Load)}
