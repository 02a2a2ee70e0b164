r"""The derivation of a network's gradient: forward equations, backward equations, δ recursion.

Three sections, in matrix notation with the names of :mod:`symdl.derive.backprop_plan`:

1. **Forward pass** — each block's forward equations, in order.
2. **Backward pass** — from :math:`\partial L/\partial L = 1`, each block's vector–Jacobian
   products in reverse order; a residual block :math:`\mathbf R = \mathbf X + F(\mathbf
   U)`, :math:`\mathbf U = \mathbf X`, passes :math:`\partial L/\partial\mathbf R` to its
   branch and sums the two paths, :math:`\partial L/\partial\mathbf X = \partial
   L/\partial\mathbf R + \partial L/\partial\mathbf U` (He et al., CVPR 2016, Sec. 3.2).
3. **The δ recursion** — wherever ``dense → elementwise φ → dense`` occurs, with
   :math:`\delta_l = \partial L/\partial z_l` per example, the composition of the two
   blocks' rules is the textbook recursion (Rumelhart, Hinton, Williams, Nature 1986;
   Goodfellow, Bengio, Courville, *Deep Learning*, 2016, Sec. 6.5.4)
   :math:`\delta_l = (W_{l+1}^\top\delta_{l+1}) \odot \varphi'(z_l)`, in batch form
   :math:`\boldsymbol\Delta_l = (\boldsymbol\Delta_{l+1}\mathbf W_{l+1}) \odot
   \varphi'(\mathbf Z_l)`, and each weight gradient is :math:`\partial L/\partial W_l =
   \boldsymbol\Delta_l^\top \mathbf A_{l-1}` (a sum over the batch of
   :math:`\delta_l a_{l-1}^\top`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from symdl.derive.backprop_plan import ResidualStep, Step, has_params
from symdl.derive.layers.base import Equation
from symdl.derive.layers.dense import Activation, Dense

__all__ = ["Line", "Section", "sections"]


@dataclass(frozen=True)
class Line:
    """One equation and the layer it belongs to (``layer 3``, ``dense(784,128)``)."""

    label: str
    layer: str
    equation: Equation
    #: the note as LaTeX math, when it is a formula (an activation's derivative)
    note_tex: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[Line, ...]


def sections(steps: Sequence[Step | ResidualStep]) -> tuple[Section, ...]:
    """The three sections of the module doc (the third only when the pattern occurs)."""
    forward = tuple(_forward(steps))
    start = Line("", "", Equation(r"\frac{\partial L}{\partial L}", "1", "∂L/∂L = 1"))
    backward = (start, *_backward(steps))
    out = [Section("Forward pass", forward), Section("Backward pass, in reverse order", backward)]
    recursion = tuple(_recursion(steps))
    if recursion:
        out.append(Section("The δ recursion", recursion))
    return tuple(out)


def _forward(steps: Sequence[Step | ResidualStep]) -> list[Line]:
    lines: list[Line] = []
    for step in steps:
        if isinstance(step, Step):
            eqs = step.layer.block.forward_equations(step.wiring, step.in_shape)
            lines += [Line(step.label, step.layer.describe(), e) for e in eqs]
            continue
        lines.append(
            Line(
                step.label,
                "residual",
                Equation(step.u.tex, step.x.tex, f"{step.u.text} = {step.x.text}", "the branch F"),
            )
        )
        lines += _forward(step.branch)
        last = step.branch[-1].y
        lines.append(
            Line(
                step.label,
                "residual",
                Equation(
                    step.y.tex,
                    f"{step.x.tex} + {last.tex}",
                    f"{step.y.text} = {step.x.text} + {last.text}",
                    "skip connection: y = x + F(x)",
                ),
            )
        )
    return lines


def _grad_tex(tex: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {tex}}}"


def _backward(steps: Sequence[Step | ResidualStep]) -> list[Line]:
    lines: list[Line] = []
    for step in reversed(steps):
        if isinstance(step, Step):
            if step.params or step.wiring.gx:
                eqs = step.layer.block.backward_equations(step.wiring, step.in_shape)
                if not step.wiring.gx:
                    eqs = tuple(e for e in eqs if e.lhs != step.wiring.gx_tex())
                lines += [_line(step, e) for e in eqs]
            continue
        if not (step.needs_gx or has_params(step)):
            continue
        last = step.branch[-1].y
        lines.append(
            Line(
                step.label,
                "residual",
                Equation(
                    _grad_tex(last.tex),
                    _grad_tex(step.y.tex),
                    f"∂L/∂{last.text} = ∂L/∂{step.y.text}",
                    "the branch's output gradient",
                ),
            )
        )
        lines += _backward(step.branch)
        if step.needs_gx:
            lines.append(
                Line(
                    step.label,
                    "residual",
                    Equation(
                        _grad_tex(step.x.tex),
                        f"{_grad_tex(step.y.tex)} + {_grad_tex(step.u.tex)}",
                        f"∂L/∂{step.x.text} = ∂L/∂{step.y.text} + ∂L/∂{step.u.text}",
                        "the skip path plus the branch's vector-Jacobian product",
                    ),
                )
            )
    return lines


def _line(step: Step, equation: Equation) -> Line:
    """The line of ``equation``; an activation's derivative becomes a formula in both
    notations (the block states it in LaTeX only)."""
    block = step.layer.block
    if not isinstance(block, Activation):
        return Line(step.label, step.layer.describe(), equation)
    from symdl.render.latex import math
    from symdl.render.text import unicode

    derivative = block.entry.at()[1]
    name = block.entry.name
    note = f"with {name}'(x) = {unicode(derivative)}, the catalogue's canonical form"
    tex = rf"{block.entry.latex}'(x) = {math(derivative)}"
    return Line(step.label, step.layer.describe(), replace(equation, note=note), tex)


def _recursion(steps: Sequence[Step | ResidualStep]) -> list[Line]:
    lines: list[Line] = []
    for step in steps:
        if isinstance(step, ResidualStep):
            lines += _recursion(step.branch)
    for first, act, second in zip(steps, steps[1:], steps[2:]):
        if not (
            isinstance(first, Step)
            and isinstance(act, Step)
            and isinstance(second, Step)
            and isinstance(first.layer.block, Dense)
            and isinstance(act.layer.block, Activation)
            and isinstance(second.layer.block, Dense)
        ):
            continue
        lines += _delta(first, act, second)
    return lines


def _delta(first: Step, act: Step, second: Step) -> list[Line]:
    block = act.layer.block
    assert isinstance(block, Activation)
    phi, name = block.entry.latex, block.entry.name
    lo, hi = first.index, second.index
    w_tex, w_text = second.wiring.p_tex("W"), second.wiring.p_text("W")
    z, z_text = first.y.tex, first.y.text
    label = f"layers {first.label.removeprefix('layer ')}–{second.label.removeprefix('layer ')}"
    layer = f"{first.layer.describe()} | {act.layer.describe()} | {second.layer.describe()}"
    sub_lo, sub_hi = _sub(lo), _sub(hi)
    return [
        Line(
            label,
            layer,
            Equation(
                rf"\boldsymbol{{\delta}}_{{{lo}}}",
                rf"\left({w_tex}^\top\boldsymbol{{\delta}}_{{{hi}}}\right) \odot "
                rf"{phi}'\left(\mathbf{{z}}_{{{lo}}}\right)",
                f"δ{sub_lo} = ({w_text}ᵀ δ{sub_hi}) ⊙ {name}'(z{sub_lo})",
                f"per example, δ{sub_lo} = ∂L/∂z{sub_lo}: the dense rule, then the activation's",
            ),
        ),
        Line(
            label,
            layer,
            Equation(
                rf"\boldsymbol{{\Delta}}_{{{lo}}}",
                rf"\left(\boldsymbol{{\Delta}}_{{{hi}}}{w_tex}\right) \odot "
                rf"{phi}'\left({z}\right)",
                f"Δ{sub_lo} = (Δ{sub_hi} {w_text}) ⊙ {name}'({z_text})",
                f"batch form, Δ{sub_lo} = ∂L/∂{z_text}, one example per row",
            ),
        ),
        Line(
            label,
            layer,
            Equation(
                _grad_tex(w_tex),
                rf"\boldsymbol{{\Delta}}_{{{hi}}}^\top {act.y.tex}",
                f"∂L/∂{w_text} = Δ{sub_hi}ᵀ {act.y.text}",
                f"a sum over the batch of δ{sub_hi} a{sub_lo}ᵀ",
            ),
        ),
    ]


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
