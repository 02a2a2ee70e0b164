r"""Checking a network's backward pass: every distinct block rule, then the whole generated code.

1. **Each distinct kind of block** (kind and keyword configuration, e.g. ``dense`` with
   ``bias=False``) has its rule checked symbolically by
   :func:`~symdl.derive.layers.check.check_rule`: the block itself when it is small
   (at most :data:`SMALL_INPUT` input entries and :data:`SMALL_PARAMETERS` parameter
   entries), otherwise at each of its kind's small registry examples built with the
   network's keyword arguments (a rule does not depend on the sizes, so small sizes
   exercise the same rule).
2. **The generated module** — exactly ``res.source`` — against finite differences of its
   own forward function, at a random instance with a small batch:
   :func:`symdl.verify.gradcheck` of every entry when the network has at most
   :data:`FULL_GRADCHECK` input and parameter entries,
   :func:`symdl.verify.sampled_gradcheck` (random projections and sampled coordinates)
   otherwise.

The verdict is ``refuted`` if any check is, ``undecided`` if any is, else ``verified``
(the code check is numerical, so the whole is never more than verified).
"""

from __future__ import annotations

from dataclasses import dataclass
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
        for label, block, shape in _rule_instances(step):
            reports.append(
                (f"rule of {label}", check_rule(block, shape, seed=seed, timeout=timeout))
            )
    reports.append(_code_check(res, seed=seed, batch=batch))
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
        example = _build(type(block), kind.build, args, merged) or kind.build(*args, **kwargs)
        out.append((f"{example.describe()} on {_shape(shape)}", example, tuple(shape)))
    return out


def _build(cls: type[Block], build: Any, args: Any, kwargs: dict[str, Any]) -> Block | None:
    """The example built as the network's block's own class, with its keywords."""
    for maker in (cls, build):
        try:
            block = maker(*args, **kwargs)
        except (TypeError, ValueError, SymdlError):
            continue
        if isinstance(block, cls):
            return block  # type: ignore[no-any-return]
    return None


def _shape(shape: Shape) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def check_network_code(res: BackpropResult, *, seed: int = 0, batch: int = 3) -> Report:
    """The generated module's backward against finite differences of its forward (item 2
    of the module doc), at a random instance with ``batch`` examples."""
    return _code_check(res, seed=seed, batch=batch)[1]


def _code_check(res: BackpropResult, *, seed: int, batch: int) -> tuple[str, Report]:
    params = res.init(seed=seed)
    x, data = res.inputs(batch, seed=seed + 1)
    keys = [key for key, _ in res.parameters]
    differentiable = res.input_gradient

    def f(x: np.ndarray, *theta: np.ndarray) -> float:
        loss, _ = res.forward(x, dict(zip(keys, theta)), data)
        return loss

    def grad_f(x: np.ndarray, *theta: np.ndarray) -> tuple[np.ndarray, ...]:
        _, tape = res.forward(x, dict(zip(keys, theta)), data)
        grads = res.backward(tape)
        head = (grads["x"],) if differentiable else ()
        return head + tuple(grads[k] for k in keys)

    first = 0 if differentiable else 1
    wrt = list(range(first, 1 + len(keys)))
    label = f"generated forward/backward at a random instance (batch {batch})"
    if not wrt:
        report = Report(
            "undecided",
            label,
            "finite-differences",
            (Evidence("finite-differences", "skipped", "nothing to differentiate"),),
        )
        return label, report
    size = (x.size if differentiable else 0) + sum(params[k].size for k in keys)
    values = [params[k] for k in keys]
    if size <= FULL_GRADCHECK:
        return label, gradcheck(f, grad_f, x, *values, wrt=wrt)
    return f"{label}, sampled", sampled_gradcheck(f, grad_f, x, *values, wrt=wrt, seed=seed)
