r"""Checking a network's backward pass: every distinct block rule, then the whole generated code.

1. **Each distinct kind of block** (kind and keyword configuration, e.g. ``dense`` with
   ``bias=False``) has its rule checked symbolically by
   :func:`~symdl.derive.layers.check.check_rule`: the block itself when it is small
   (at most :data:`SMALL_INPUT` input entries and :data:`SMALL_PARAMETERS` parameter
   entries), otherwise at each of its kind's small registry examples built with the
   network's keyword arguments (a rule does not depend on the sizes, so small sizes
   exercise the same rule).
2. **The generated module** — exactly ``res.source`` — against finite differences of its
   own forward function, one differentiated array at a time, at a random instance with a
   small batch:
   :func:`symdl.verify.gradcheck` of every entry when the network has at most
   :data:`FULL_GRADCHECK` input and parameter entries,
   :func:`symdl.verify.sampled_gradcheck` (random projections and sampled coordinates)
   otherwise.

The verdict is ``refuted`` if any check is, ``undecided`` if any is, else ``verified``
(the code check is numerical, so the whole is never more than verified).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np

from symdl.derive.backprop_code import walk
from symdl.derive.backprop_plan import Step
from symdl.derive.layers.base import Block, Shape
from symdl.derive.layers.check import check_rule
from symdl.errors import SymdlError
from symdl.verify import Evidence, Report, gradcheck
from symdl.verify.sampled import sampled_gradcheck

if TYPE_CHECKING:
    from symdl.derive.backprop import BackpropResult

__all__ = [
    "FULL_GRADCHECK",
    "SMALL_INPUT",
    "SMALL_PARAMETERS",
    "VANISHING",
    "BackpropCheck",
    "check_backprop",
    "check_network_code",
]

SMALL_INPUT = 8
SMALL_PARAMETERS = 40
FULL_GRADCHECK = 400


@dataclass(frozen=True)
class BackpropCheck:
    """Each check's label and report, and the overall verdict (module doc)."""

    verdict: str
    reports: tuple[tuple[str, Report], ...]

    @property
    def ok(self) -> bool:
        return self.verdict in ("proved", "verified")

    def __str__(self) -> str:
        lines = [f"{self.verdict}: the backward pass of the network"]
        for label, report in self.reports:
            lines.append(f"  {report.verdict:<9} {label}")
            if not report.ok:
                lines += ["    " + line for line in str(report).splitlines()]
        return "\n".join(lines)


def check_backprop(
    res: BackpropResult, *, seed: int = 0, timeout: float = 60.0, batch: int = 3
) -> BackpropCheck:
    """The checks of the module doc for ``res``."""
    reports: list[tuple[str, Report]] = []
    seen: set[tuple[Any, ...]] = set()
    for step in walk(res.steps):
        key = (type(step.layer.block), step.layer.block.kind, step.layer.kwargs)
        if key in seen:
            continue
        seen.add(key)
        instances = _rule_instances(step)
        for label, block, shape in instances:
            reports.append(
                (f"rule of {label}", check_rule(block, shape, seed=seed, timeout=timeout))
            )
        if not instances:
            label = f"rule of {step.layer.describe()}"
            detail = "too large to expand entrywise, and no small registered configuration"
            evidence = Evidence("symbolic", "skipped", detail)
            reports.append((label, Report("undecided", label, "symbolic", (evidence,))))
    reports += check_network_code(res, seed=seed, batch=batch)
    verdicts = [r.verdict for _, r in reports]
    if "refuted" in verdicts:
        verdict = "refuted"
    elif "undecided" in verdicts:
        verdict = "undecided"
    else:
        verdict = "verified"
    return BackpropCheck(verdict, tuple(reports))


def _rule_instances(step: Step) -> list[tuple[str, Block, Shape]]:
    block = step.layer.block
    small = prod(step.in_shape) <= SMALL_INPUT and (
        sum(prod(s.shape) for _, s in step.params) <= SMALL_PARAMETERS
    )
    if small:
        return [(f"{block.describe()} on {_shape(step.in_shape)}", block, step.in_shape)]
    from symdl.derive.layers import LAYERS

    if block.kind not in LAYERS:
        return []
    kind = LAYERS.get(block.kind)
    out = []
    for args, kwargs, shape in kind.examples:
        merged = {**kwargs, **dict(step.layer.kwargs)}
        shape = tuple(shape)
        candidates = [
            _build(kind.build, args, merged, shape, like=type(block)),
            _build(type(block), args, merged, shape),
            _build(kind.build, args, dict(kwargs), shape),
        ]
        example = next((c for c in candidates if c is not None), None)
        if example is not None:
            out.append((f"{example.describe()} on {_shape(shape)}", example, shape))
    return out


def _build(
    maker: Any,
    args: Any,
    kwargs: dict[str, Any],
    shape: Shape,
    *,
    like: type[Block] = Block,
) -> Block | None:
    """``maker(*args, **kwargs)`` when it builds a ``like`` block that takes ``shape``."""
    try:
        block = maker(*args, **kwargs)
        block.output_shape(shape)
    except (TypeError, ValueError, KeyError, SymdlError):
        return None
    return block if isinstance(block, like) else None


def _shape(shape: Shape) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def check_network_code(
    res: BackpropResult, *, seed: int = 0, batch: int = 3
) -> tuple[tuple[str, Report], ...]:
    """The generated module's backward against finite differences of its forward, one
    report per differentiated array (item 2 of the module doc), at a random instance
    with ``batch`` examples.

    A gradient that vanishes identically (a bias followed by batch normalisation, whose
    mean subtraction cancels it; Ioffe & Szegedy 2015, Sec. 3) is computed as a sum of
    cancelling terms, so its rounding error follows the size of those terms, not of the
    result, and finite differences cannot judge it: when every entry the check flags is,
    claimed and measured alike, below :data:`VANISHING` times the largest gradient entry
    of the network, the verdict is ``undecided`` with a note, never ``refuted``.
    """
    params = res.init(seed=seed)
    x, data = res.inputs(batch, seed=seed + 1)
    keys = [key for key, _ in res.parameters]
    names = (["x"] if res.input_gradient else []) + keys
    suffix = f"(batch {batch})"
    if not names:
        label = f"generated backward vs finite differences {suffix}"
        evidence = Evidence("finite-differences", "skipped", "nothing to differentiate")
        return ((label, Report("undecided", label, "finite-differences", (evidence,))),)
    point: dict[str, np.ndarray] = {"x": x, **params}

    def run(values: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        loss, tape = res.forward(values["x"], {k: values[k] for k in keys}, data)
        return loss, tape

    at_point = res.backward(run(point)[1])
    scale = max(float(np.max(np.abs(at_point[n]), initial=0.0)) for n in names)
    sampled = sum(point[n].size for n in names) > FULL_GRADCHECK
    if sampled:
        suffix = f"(batch {batch}, sampled)"
    out = []
    for name in names:

        def f(value: np.ndarray, name: str = name) -> float:
            return run({**point, name: value})[0]

        def grad_f(value: np.ndarray, name: str = name) -> np.ndarray:
            return res.backward(run({**point, name: value})[1])[name]

        if sampled:
            report = sampled_gradcheck(f, grad_f, point[name], seed=seed)
        else:
            report = gradcheck(f, grad_f, point[name])
        report = _vanishing(report, at_point[name], scale)
        out.append((f"generated ∂L/∂{name} vs finite differences {suffix}", report))
    return tuple(out)


#: relative to the network's largest gradient entry, a gradient this small is zero to
#: within the rounding of the terms that cancel in it (see check_network_code)
VANISHING = 1e-9


def _vanishing(report: Report, claimed: np.ndarray, scale: float) -> Report:
    if report.verdict != "refuted" or scale == 0.0 or not report.entries:
        return report
    bound = VANISHING * scale
    if float(np.max(np.abs(claimed), initial=0.0)) > bound:
        return report
    if any(abs(e.true) > bound for e in report.entries):
        return report
    note = (
        f"the claimed gradient and the finite differences are all below {bound:.1e} "
        f"({VANISHING:g} of the network's largest gradient entry, {scale:.2e}): a gradient "
        "that vanishes identically, computed with rounding; finite differences cannot "
        "judge it"
    )
    return replace(report, verdict="undecided", notes=(*report.notes, note))
