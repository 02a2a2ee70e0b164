r"""A user's layer (forward and backward) against a layer of symdl's registry.

The reference is the registered block's generated NumPy code
(:func:`symdl.derive.layers.block_function`), whose backward rule is itself proved or
verified against SymPy's entrywise derivative and whose code is checked against finite
differences (:mod:`symdl.derive.layers.check`). The user's functions are called as

* ``forward(x, **params, **data)`` → the output (the scalar loss for a loss layer);
* ``backward(gy, x, **params, **data)`` → the gradient of ``x`` followed by the gradient
  of each parameter in the layer's order (a tuple), or a dict keyed ``"x"`` and the
  parameter names. A layer whose input is token ids has no gradient of ``x``.

Arrays are batch-first. Both results must satisfy :math:`|c - t| \le \mathrm{atol} +
\mathrm{rtol}\max|t|` entrywise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from symdl.derive.layers.base import Block, Shape
from symdl.derive.layers.check import block_function, block_wiring
from symdl.verify.diagnose import diagnose
from symdl.verify.report import Entry, Evidence, Report, worst_entries

__all__ = ["BlockOutcome", "BlockProblem", "block_report"]


@dataclass(frozen=True)
class BlockOutcome:
    """The comparison at one example: ``ok``, or which part differs."""

    ok: bool
    part: str = ""  # "forward", "gradient of W", "shape", "error"
    reason: str = ""
    claimed: np.ndarray | None = None
    true: np.ndarray | None = None
    worst: float = 0.0


class BlockProblem:
    """A registered block at a fixed per-example input shape, as a reference."""

    def __init__(self, block: Block, shape: Shape) -> None:
        self.block = block
        self.shape = tuple(shape)
        self.out_shape = block.output_shape(self.shape)
        self.param_names = tuple(s.name for s in block.parameters(self.shape))
        self.data_names = tuple(s.name for s in block.data(self.shape))
        self.integer_input = bool(getattr(block, "integer_input", False))
        self.source, self._run = block_function(block, self.shape)

    @property
    def wrt(self) -> tuple[str, ...]:
        return (() if self.integer_input else ("x",)) + self.param_names

    def reference(self, example: Mapping[str, Any]) -> tuple[Any, dict[str, np.ndarray]]:
        y, gx, grads = self._run(example["x"], example["params"], example["data"], example["gy"])
        out = dict(grads)
        if not self.integer_input:
            out["x"] = gx
        return y, out

    def user(
        self,
        example: Mapping[str, Any],
        forward: Callable[..., Any],
        backward: Callable[..., Any],
    ) -> tuple[Any, dict[str, Any]]:
        kwargs = {**example["params"], **example["data"]}
        y = forward(np.array(example["x"]), **_copies(kwargs))
        got = backward(_copy(example["gy"]), np.array(example["x"]), **_copies(kwargs))
        if isinstance(got, Mapping):
            return y, dict(got)
        got = (got,) if not isinstance(got, (tuple, list)) else tuple(got)
        if len(got) != len(self.wrt):
            raise ValueError(
                f"backward returned {len(got)} arrays; expected {len(self.wrt)} "
                f"(gradients of {', '.join(self.wrt)}, in that order)"
            )
        return y, dict(zip(self.wrt, got))

    def compare(
        self,
        example: Mapping[str, Any],
        forward: Callable[..., Any],
        backward: Callable[..., Any],
        *,
        rtol: float,
        atol: float,
    ) -> BlockOutcome:
        true_y, true_grads = self.reference(example)
        try:
            got_y, got_grads = self.user(example, forward, backward)
        except Exception as err:  # the user's code failing is a finding, not a crash
            return BlockOutcome(False, "error", f"{type(err).__name__}: {err}")
        worst = 0.0
        parts = [("forward", got_y, true_y)] + [
            (f"gradient of {n}", got_grads.get(n), true_grads[n]) for n in self.wrt
        ]
        for part, claimed, true in parts:
            if claimed is None:
                return BlockOutcome(False, part, "missing from the backward's result")
            c = np.asarray(claimed, dtype=np.float64)
            t = np.asarray(true, dtype=np.float64)
            if c.shape != t.shape:
                reason = f"shape {c.shape}, expected {t.shape}"
                if c.ndim == 2 and c.shape == t.shape[::-1]:
                    reason += " (the transposed shape)"
                return BlockOutcome(False, part, reason, c, t)
            scale = float(np.max(np.abs(t))) if t.size else 0.0
            tol = atol + rtol * scale
            error = float(np.max(np.abs(c - t))) if t.size else 0.0
            if not np.all(np.isfinite(c)) or error > tol:
                return BlockOutcome(
                    False, part, f"max |difference| {error:.3g} > tolerance {tol:.3g}", c, t
                )
            worst = max(worst, error / tol if tol else 0.0)
        return BlockOutcome(True, worst=worst * rtol)


def _copy(v: Any) -> Any:
    return np.array(v) if isinstance(v, np.ndarray) else v


def _copies(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) for k, v in values.items()}


def block_report(
    problem: BlockProblem,
    found: dict[str, Any],
    outcome: BlockOutcome,
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    title: str,
    method: str,
    *,
    examples: int,
    rtol: float,
    atol: float,
    seed: int | None,
) -> Report:
    batch = np.shape(found["x"])[0]
    evidence = Evidence(
        "reference-layer",
        "differ",
        f"{outcome.part} wrong at the shrunk example (batch {batch}); the first failure "
        f"of {examples} hypothesis examples: {outcome.reason}",
        points=examples,
        tolerance=rtol,
    )
    diagnosis = [f"{outcome.part}: {outcome.reason}"]
    entries: list[Entry] = []
    c, t = outcome.claimed, outcome.true
    if c is not None and t is not None and c.shape == t.shape:
        entries = worst_entries(c, t, atol + rtol * float(np.max(np.abs(t))))
    if outcome.part.startswith("gradient of "):
        name = outcome.part.removeprefix("gradient of ")
        diagnosis += _block_diagnosis(problem, found, name, forward, backward, rtol, seed)
    return Report(
        "refuted",
        title,
        method,
        (evidence,),
        counterexample={"x": found["x"], **found["params"], **found["data"], "gy": found["gy"]},
        entries=tuple(entries),
        diagnosis=tuple(diagnosis),
    )


def _block_diagnosis(
    problem: BlockProblem,
    found: dict[str, Any],
    name: str,
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    rtol: float,
    seed: int | None,
    copies: int = 3,
) -> list[str]:
    """The mistake behind a wrong gradient of ``name``: one of the layer's known wrong
    variants, else a pattern of :func:`symdl.verify.diagnose`, if one holds at the
    counterexample and at copies of it with the parameters moved."""
    rng = np.random.default_rng(seed)
    examples = [found]
    for _ in range(copies):
        moved = dict(found)
        moved["params"] = {
            k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in found["params"].items()
        }
        examples.append(moved)
    claimed, true, kept = [], [], []
    for example in examples:
        try:
            _, got = problem.user(example, forward, backward)
        except Exception:  # the user's code failing here only costs the diagnosis a point
            continue
        kept.append(example)
        claimed.append(np.asarray(got[name], dtype=np.float64))
        true.append(np.asarray(problem.reference(example)[1][name], dtype=np.float64))
    if not claimed:
        return []
    for label in problem.block.variants(block_wiring(problem.block, problem.shape), problem.shape):
        _, run = block_function(problem.block, problem.shape, variant=label)
        matches = True
        for example, c in zip(kept, claimed):
            _, gx, grads = run(example["x"], example["params"], example["data"], example["gy"])
            v = gx if name == "x" else grads[name]
            if v is None or np.shape(v) != c.shape or not np.allclose(c, v, rtol=1e-6, atol=1e-12):
                matches = False
                break
        if matches:
            return [f"the backward pass {label}"]
    try:
        findings = diagnose(claimed, true, rtol=max(rtol, 1e-6))
    except ValueError:
        return []
    return [f"gradient of {name}: {f.message}" for f in findings]
