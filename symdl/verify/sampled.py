r"""``sampled_gradcheck``: a large gradient checked along random projections, not entry by entry.

A full finite-difference check costs two or more calls of ``f`` per entry. For a gradient
of :math:`n` entries in parameter group :math:`x` (one input array) this module checks
instead, for :math:`m` Rademacher directions :math:`v \in \{-1, +1\}^n` and :math:`k`
sampled coordinates :math:`v = e_j`,

.. math:: \Bigl|\langle g, v\rangle - \tfrac{d}{dt} f(x + t v)\big|_{t=0}\Bigr|
          \le E_{\mathrm{fd}} + z\,\Bigl(\sum_i v_i^2 b_i^2\Bigr)^{1/2},

where the directional derivative comes from :func:`~symdl.verify.finite.differences` on
the one-variable function :math:`t \mapsto f(x + tv)` with its error bound
:math:`E_{\mathrm{fd}}`, :math:`\langle g, v\rangle` is summed exactly (``math.fsum``;
:math:`v_i g_i` is exact for :math:`v_i = \pm 1`), and :math:`b_i = 32\,\varepsilon
\max_j |g_j|` is the rounding allowance of each claimed entry in its own dtype (the one
:func:`~symdl.verify.gradcheck.gradcheck` uses). The rounding term is a variance bound,
not a worst case: for errors :math:`|e_i| \le b_i` and independent random signs,
:math:`\langle e, v\rangle` has mean 0 and variance :math:`\sum e_i^2 \le \sum b_i^2`
whatever the errors' correlation, and Hoeffding's inequality gives
:math:`P(|\langle e, v\rangle| > z\|b\|_2) \le 2e^{-z^2/2}`; with
:math:`z = \sqrt{2\ln(2/\alpha)}` a correct gradient fails one projection with
probability at most :math:`\alpha` (default :math:`10^{-9}`). The tolerance grows like
:math:`\sqrt{n}\,\varepsilon`, never like :math:`n` or :math:`n\varepsilon`.

Power: write :math:`\delta = g - \nabla f`. If some :math:`|\delta_i| > 2\tau`
(:math:`\tau` the tolerance), flipping :math:`v_i` moves :math:`\langle\delta, v\rangle`
by more than :math:`2\tau`, so at most half of the sign vectors leave it within
:math:`\pm\tau`: each projection misses with probability at most 1/2, all :math:`m`
with probability at most :math:`2^{-m}`. A single wrong entry gives
:math:`|\langle\delta, v\rangle| = |\delta_i|` for every :math:`v`, so it is found by
every projection. Sampled coordinates name an entry when they hit one. A mismatch is
confirmed by a second, independent estimate before the gradient is refuted: the
fourth-order stencil with its first step at 3/4 of the usual one, so on points the
first estimate did not use, with ``f``'s noise measured (Richardson where that stencil
finds no step in ``f``'s domain). Its bound is about as tight as the first estimate's;
a central-difference confirmation, 100 times looser, let a wrong entry off by
:math:`10^{-6}` relative escape now and then.

Costs :math:`m + k` one-variable derivative estimates per group (a few dozen calls each),
independent of :math:`n`. Reference: W. Hoeffding, "Probability inequalities for sums of
bounded random variables", JASA 58 (1963) 13–30; P. Erdős, "On a lemma of Littlewood and
Offord", Bull. AMS 51 (1945) 898–902.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symdl.errors import UnsupportedError
from symdl.verify.finite import differences, richardson
from symdl.verify.gradient_call import prepare
from symdl.verify.report import Entry, Evidence, Report
from symdl.verify.stencil import fourth_order

__all__ = ["sampled_gradcheck"]

#: Rounding allowance of a claimed entry, in units of its dtype's ε times max |g|.
_CLAIM_ROUNDING = 32
#: The confirming stencil's first step, relative to the usual one (no shared points).
_SHIFTED_STEP = 0.75


def sampled_gradcheck(
    f: Callable[..., Any],
    grad_f: Callable[..., Any],
    *arrays: Any,
    wrt: Sequence[int] | None = None,
    projections: int = 16,
    coordinates: int = 8,
    seed: int = 0,
    alpha: float = 1e-9,
) -> Report:
    r"""Check ``grad_f(*arrays)`` along random projections and sampled coordinates.

    Same calling convention as :func:`~symdl.verify.gradcheck.gradcheck` (``f`` returns
    a scalar, ``grad_f`` the gradient of each array in ``wrt``, denominator layout). Each
    parameter group gets ``projections`` Rademacher directions and ``coordinates`` sampled
    entries (all entries when it has fewer); ``alpha`` bounds the probability that one
    projection of a correct gradient fails by rounding (see the module docstring).

    ``verified`` means every probe agreed; a bug with one entry wrong by more than twice
    the tolerance escapes all projections with probability at most
    :math:`2^{-\mathrm{projections}}`.

    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [0.5, 3.0]])
    >>> f = lambda x: (x.T @ A @ x).item()
    >>> sampled_gradcheck(f, lambda x: (A + A.T) @ x, np.array([[1.0], [2.0]])).verdict
    'verified'
    >>> sampled_gradcheck(f, lambda x: 2 * A @ x, np.array([[1.0], [2.0]])).verdict
    'refuted'
    """
    _check_counts(projections, coordinates, alpha)
    call = prepare("sampled_gradcheck", f, grad_f, arrays, wrt)
    point, targets, claimed, allowance = call.point, call.targets, call.claimed, call.allowance
    notes = list(call.notes)
    z = math.sqrt(2 * math.log(2 / alpha))
    rng = np.random.default_rng(seed)
    evidence: list[Evidence] = []
    entries: list[Entry] = []
    diagnosis: list[str] = []
    for k, (i, g) in enumerate(zip(targets, claimed)):
        g = np.asarray(g)
        if g.shape != point[i].shape:
            reason = (
                f"the claimed gradient for argument {i} has shape {g.shape}, the argument has "
                f"shape {point[i].shape}"
            )
            return Report("refuted", _title(f, i), "shape", (Evidence("shape", "differ", reason),))
        g64 = g.astype(np.float64)
        if not np.all(np.isfinite(g64)):
            reason = f"the claimed gradient for argument {i} has non-finite entries"
            ev = Evidence("finite-values", "differ", reason)
            return Report("refuted", _title(f, i), "inspection", (ev,), diagnosis=(reason,))
        eps = max(float(np.finfo(g.dtype).eps) if g.dtype.kind == "f" else 0.0, allowance)
        eps = max(eps, float(np.finfo(np.float64).eps))
        b = _CLAIM_ROUNDING * eps * (float(np.max(np.abs(g64))) if g64.size else 0.0)
        probes = _probes(rng, point[i].shape, projections, coordinates)
        worst, worst_tol, failed = 0.0, 0.0, []
        for label, v, index in probes:
            tol_round = z * b * math.sqrt(float(np.count_nonzero(v)))
            got = _probe(f, point, i, g64, v, tol_round)
            worst = max(worst, got.rel)
            worst_tol = max(worst_tol, got.tol / max(abs(got.claimed), abs(got.fd), 1e-300))
            if got.mismatch:
                failed.append(label)
                diagnosis.append(
                    f"argument {i}, {label}: claimed {got.claimed:.10g}, finite differences "
                    f"give {got.fd:.10g} (difference {abs(got.claimed - got.fd):.2e}, "
                    f"tolerance {got.tol:.1e})"
                )
                if index is not None:
                    where = (k, *index) if len(targets) > 1 else index
                    entries.append(
                        Entry(
                            where, got.claimed, got.fd, abs(got.claimed - got.fd), got.rel, got.tol
                        )
                    )
        detail = (
            f"{projections} Rademacher projections and {len(probes) - projections} sampled "
            f"coordinates of argument {i} ({g.size} entries): "
            + (f"{len(failed)} outside the tolerance" if failed else "all within the tolerance")
        )
        evidence.append(
            Evidence(
                "sampled-finite-differences",
                "differ" if failed else "agree",
                detail,
                points=1,
                worst_error=worst,
                tolerance=worst_tol,
            )
        )
    title = _title(f, *targets)
    miss = (
        f"a wrong entry above twice the tolerance escapes all projections with p ≤ 2^-{projections}"
    )
    if diagnosis:
        return Report(
            "refuted",
            title,
            "sampled finite differences",
            tuple(evidence),
            counterexample={f"arg{i}": point[i].tolist() for i in targets},
            entries=tuple(sorted(entries, key=lambda e: -e.rel_error)[:5]),
            diagnosis=tuple(diagnosis[:5]),
            notes=tuple(notes),
        )
    return Report(
        "verified",
        title,
        "sampled finite differences at the given point",
        tuple(evidence),
        notes=(*notes, miss),
    )


class _Probe:
    def __init__(self, claimed: float, fd: float, tol: float, mismatch: bool):
        self.claimed, self.fd, self.tol, self.mismatch = claimed, fd, tol, mismatch
        self.rel = abs(claimed - fd) / max(abs(claimed), abs(fd), 1e-300)


def _probe(
    f: Callable[..., Any], point: list[np.ndarray], i: int, g: np.ndarray, v: np.ndarray, tol: float
) -> _Probe:
    def along(t: np.ndarray) -> Any:
        args = list(point)
        args[i] = point[i] + t * v
        return np.asarray(f(*args))

    claimed = math.fsum((g * v).ravel().tolist())
    try:
        first = differences(along, 0.0)
    except UnsupportedError:
        first = richardson(along, 0.0)
    fd = float(first.value)
    bound = float(first.error) + tol
    mismatch = abs(claimed - fd) > bound
    if mismatch:
        # confirm with an independent estimate on other points, f's noise measured
        try:
            second = fourth_order(along, 0.0, first_step=_SHIFTED_STEP)
        except UnsupportedError:
            second = richardson(along, 0.0)
        mismatch = abs(claimed - float(second.value)) > float(second.error) + tol
    return _Probe(claimed, fd, bound, mismatch)


def _probes(
    rng: np.random.Generator, shape: tuple[int, ...], projections: int, coordinates: int
) -> list[tuple[str, np.ndarray, tuple[int, ...] | None]]:
    out: list[tuple[str, np.ndarray, tuple[int, ...] | None]] = []
    for p in range(projections):
        out.append((f"projection {p + 1}", rng.choice([-1.0, 1.0], size=shape), None))
    size = int(np.prod(shape, dtype=np.int64))
    for flat in rng.choice(size, size=min(coordinates, size), replace=False):
        index = tuple(int(j) for j in np.unravel_index(int(flat), shape))
        v = np.zeros(shape)
        v[index] = 1.0
        out.append((f"entry [{','.join(map(str, index))}]", v, index))
    return out


def _check_counts(projections: int, coordinates: int, alpha: float) -> None:
    for name, n in (("projections", projections), ("coordinates", coordinates)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    if projections + coordinates == 0:
        raise ValueError("sampled_gradcheck needs at least one projection or coordinate")
    if not (isinstance(alpha, (float, int)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be a probability in (0, 1), got {alpha!r}")


def _title(f: Callable[..., Any], *targets: int) -> str:
    name = getattr(f, "__name__", "f")
    return f"gradient of {name} with respect to " + ", ".join(f"arg{i}" for i in targets)
