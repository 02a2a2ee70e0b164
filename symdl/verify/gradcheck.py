r"""``gradcheck``: a user's own NumPy gradient against finite differences, entry by entry.

Numbers only, so the verdict rests on the finite differences: every entry of the claimed
gradient must lie within the error bound of :func:`symdl.verify.finite.differences`
(complex step where the code is holomorphic, otherwise the fourth-order stencil, or the
method asked for) plus the rounding allowance of the claim's own dtype. Tolerances never
grow with the array size, so one wrong entry in a thousand is found and named.

Cost and soundness. The first estimate is made without measuring ``f``'s rounding noise
(``noise=False``: rounding bounded by a few ulps of the values seen), so the common
case, a gradient that agrees, costs what the stencil costs, :math:`6` calls per entry
(torch's gradcheck: :math:`2n + 1`). Measuring the noise only ever widens a bound, so
skipping it can turn a correct entry into a suspect (ill-conditioned code such as a
logdet with :math:`\kappa \approx 10^3` rounds far worse than its value's ulps), never
a wrong entry into an agreeing one. Before anything is refuted, the suspect entries are
estimated twice more, both with the noise measured (ECnoise, :mod:`symdl.verify.noise`)
along the suspect entries only: the same method again, now with its full bound, and an
independent fourth-order stencil whose first step is 3/4 of the first one's, so that no
point is shared. An entry is refuted only when the claim lies outside both bounds. Both
bounds are tight (about :math:`10^{-12}` relative on smooth code), so a wrong entry off by
:math:`10^{-6}` relative is refuted, where a central-difference confirmation (bound about
:math:`10^{-10}`–:math:`10^{-8}`, widened further by noise) would let it escape now and
then. The report then names the worst entries and the bug pattern.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symdl.errors import UnsupportedError
from symdl.verify.diagnose import diagnose
from symdl.verify.finite import Differences, differences, richardson
from symdl.verify.gradient_call import prepare
from symdl.verify.report import Entry, Evidence, Report
from symdl.verify.stencil import fourth_order

__all__ = ["gradcheck"]

#: The claim's own rounding: a correct gradient computed in dtype ε may differ from the
#: exact one by a few ε per operation, relative to the gradient's scale.
_CLAIM_ROUNDING = 32
#: The confirming stencil's first step, relative to the first estimate's: 3/4 puts every
#: point of it between two of the first stencil's (3/4 · 2^-j is never a power of 2).
_SHIFTED_STEP = 0.75


def gradcheck(
    f: Callable[..., Any],
    grad_f: Callable[..., Any],
    *arrays: Any,
    wrt: Sequence[int] | None = None,
    method: str = "auto",
) -> Report:
    r"""Check ``grad_f(*arrays)`` against finite differences of ``f`` at ``arrays``.

    ``f`` returns a scalar; ``grad_f`` returns the gradient with respect to each array in
    ``wrt`` (all arrays by default), in denominator layout (each the shape of its array),
    as one array or a tuple. float16/float32 inputs are upcast to float64 for the
    differences, with a :class:`~symdl.errors.PrecisionWarning` and a note in the report;
    the claimed gradient is still computed from the arrays as given, and judged with the
    rounding allowance of its own dtype.

    ``verified`` here means agreement within the error bounds at the given point (numbers
    only); ``refuted`` means the first estimate, recomputed with ``f``'s measured noise,
    and an independent fourth-order stencil on other points both disagree with the claim
    (module docstring). A gradient that agrees costs 6 calls of ``f`` per entry with the
    fourth-order stencil; each suspect entry costs about 12 more, plus 18 per argument.

    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [0.5, 3.0]])
    >>> f = lambda x: (x.T @ A @ x).item()
    >>> gradcheck(f, lambda x: (A + A.T) @ x, np.array([[1.0], [2.0]])).verdict
    'verified'
    >>> gradcheck(f, lambda x: 2 * A @ x, np.array([[1.0], [2.0]])).verdict
    'refuted'
    """
    call = prepare("gradcheck", f, grad_f, arrays, wrt)
    point, targets, claimed, allowance = call.point, call.targets, call.claimed, call.allowance
    notes = list(call.notes)
    evidence: list[Evidence] = []
    entries: list[Entry] = []
    findings: list[str] = []
    mismatched = False
    for k, (i, g) in enumerate(zip(targets, claimed)):
        g = np.asarray(g)
        if g.shape != point[i].shape and g.size == point[i].size and g.ndim == 0:
            g = g.reshape(point[i].shape)
        if g.shape != point[i].shape:
            reason = (
                f"the claimed gradient for argument {i} has shape {g.shape}, the argument has "
                f"shape {point[i].shape}"
            )
            if g.ndim == 2 and g.shape == point[i].shape[::-1]:
                reason += "; the claim has the transposed shape"
            return Report(
                "refuted",
                _title(f, i),
                "shape",
                (Evidence("shape", "differ", reason),),
                diagnosis=(reason,),
                notes=tuple(notes),
            )
        broken = ~np.isfinite(g.astype(np.float64)) if g.dtype.kind in "fc" else None
        if broken is not None and broken.any():
            where = tuple(int(j) for j in np.argwhere(broken)[0])
            reason = (
                f"the claimed gradient for argument {i} is not finite at {list(where)} "
                f"({g.astype(np.float64)[where]}); {int(broken.sum())} of {g.size} entries"
            )
            return Report(
                "refuted",
                _title(f, i),
                "inspection",
                (Evidence("finite-values", "differ", reason),),
                diagnosis=(reason,),
                notes=tuple(notes),
            )
        fd, ev, bad, rows = _compare(f, point, i, g, method, allowance)
        evidence.append(ev)
        entries.extend(
            Entry(
                (k, *e.index) if len(targets) > 1 else e.index,
                e.claimed,
                e.true,
                e.abs_error,
                e.rel_error,
                e.tolerance,
            )
            for e in rows
        )
        if bad:
            mismatched = True
            scale = max(float(np.max(np.abs(fd.value))), 1e-300)
            rtol = float(np.max(_tolerance(fd, g, allowance))) / scale
            for finding in diagnose([g.astype(np.float64)], [fd.value], rtol=max(rtol, 1e-12)):
                findings.append(finding.message)
    entries.sort(key=lambda e: -e.rel_error)
    title = _title(f, *targets)
    if mismatched:
        worst = entries[0]
        idx = ",".join(map(str, worst.index))
        lead = (
            f"claimed[{idx}]={worst.claimed:.6g}, finite differences give {worst.true:.6g} "
            f"(rel err {worst.rel_error:.2g}, tolerance {worst.tolerance:.1e})"
        )
        return Report(
            "refuted",
            title,
            "finite differences",
            tuple(evidence),
            counterexample={f"arg{i}": point[i].tolist() for i in targets},
            entries=tuple(entries[:5]),
            diagnosis=(lead, *findings),
            notes=tuple(notes),
        )
    return Report(
        "verified",
        title,
        "finite differences at the given point",
        tuple(evidence),
        entries=tuple(e for e in entries[:5] if e.abs_error > 0),
        notes=tuple(notes),
    )


def _title(f: Callable[..., Any], *targets: int) -> str:
    name = getattr(f, "__name__", "f")
    args = ", ".join(f"arg{i}" for i in targets)
    return f"gradient of {name} with respect to {args}"


def _scale(fd: Differences) -> float:
    return float(np.max(np.abs(fd.value))) if fd.value.size else 0.0


def _tolerance(
    fd: Differences, claimed: np.ndarray, allowance: float = 0.0, scale: float | None = None
) -> np.ndarray:
    """The estimate's bound plus the claim's rounding, relative to the gradient's scale
    (the largest entry of the whole argument's estimate)."""
    eps = np.finfo(claimed.dtype).eps if claimed.dtype.kind == "f" else np.finfo(float).eps
    eps = max(float(eps), allowance)
    scale = _scale(fd) if scale is None else scale
    return fd.error + _CLAIM_ROUNDING * eps * np.maximum(np.abs(fd.value), scale)


def _suspects_confirmed(
    along: Callable[[np.ndarray], Any],
    x: np.ndarray,
    g: np.ndarray,
    suspect: np.ndarray,
    method: str,
    allowance: float,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Which suspect entries two noise-aware estimates also reject, and the tolerance
    that decided (the larger of the two), both as arrays over the suspect entries."""
    where = tuple(np.argwhere(suspect).T)
    claimed, sub_g = g.astype(np.float64)[where], g[where]

    def sub(y: np.ndarray) -> Any:  # f along the suspect entries only
        v = x.copy()
        v[where] = y
        return along(v)

    y = x[where]
    rejected = np.ones(claimed.shape, dtype=bool)
    tolerance = np.zeros(claimed.shape)
    if method != "complex-step":  # complex step's bound does not use f's noise
        again = differences(sub, y, method=method, noise=True)
        tolerance = _tolerance(again, sub_g, allowance, scale)
        rejected &= np.abs(claimed - again.value) > tolerance
    try:
        second = fourth_order(sub, y, first_step=_SHIFTED_STEP)
    except UnsupportedError:
        second = richardson(sub, y)
    second_tolerance = _tolerance(second, sub_g, allowance, scale)
    rejected &= np.abs(claimed - second.value) > second_tolerance
    return rejected, np.maximum(tolerance, second_tolerance)


def _compare(
    f: Callable[..., Any],
    point: list[np.ndarray],
    i: int,
    g: np.ndarray,
    method: str,
    allowance: float = 0.0,
) -> tuple[Any, Evidence, bool, list[Entry]]:
    def along(v: np.ndarray) -> Any:
        args = list(point)
        args[i] = v
        return np.asarray(f(*args))

    try:
        fd = differences(along, point[i], method=method, noise=False)
    except UnsupportedError:
        fd = differences(along, point[i], method="richardson", noise=False)
    claimed = g.astype(np.float64)
    scale = _scale(fd)
    tol = np.array(_tolerance(fd, g, allowance, scale), dtype=np.float64)  # 0-d: writable
    err = np.abs(claimed - fd.value)
    bad = np.array(err > tol)
    if np.any(bad):
        # f's noise, then an independent estimate, before anything is refuted
        rejected, confirming = _suspects_confirmed(
            along, point[i], g, bad, fd.method, allowance, scale
        )
        tol[bad] = np.maximum(tol[bad], confirming)
        bad[bad] = rejected
    scale_rel = np.maximum(np.maximum(np.abs(claimed), np.abs(fd.value)), 1e-300)
    rel = err / scale_rel
    rows = [
        Entry(
            tuple(int(j) for j in idx),
            float(claimed[idx]),
            float(fd.value[idx]),
            float(err[idx]),
            float(rel[idx]),
            float(tol[idx]),
        )
        for idx in sorted(np.ndindex(err.shape), key=lambda j: -rel[j])[:5]
    ]
    nbad = int(np.count_nonzero(bad))
    ev = Evidence(
        "finite-differences",
        "differ" if nbad else "agree",
        f"{fd.method} on argument {i}: {nbad} of {err.size} entries outside the error bound"
        if nbad
        else f"{fd.method} on argument {i}: all {err.size} entries within the error bound",
        points=1,
        worst_error=float(np.max(rel)) if rel.size else 0.0,
        tolerance=float(np.max(tol / scale_rel)) if rel.size else 0.0,
    )
    return fd, ev, bool(nbad), rows
