r"""A user's layer (forward and backward) against the exact gradient of its forward expression.

A layer is given by its forward pass in the input language, e.g. batch normalisation of
one feature over a batch of :math:`n` (Ioffe & Szegedy 2015, Algorithm 1, with the
scale :math:`\gamma` and shift :math:`\beta`):

.. math::

    y = \gamma\,\frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta, \qquad
    \mu = \tfrac1n \textstyle\sum_i x_i,\quad \sigma^2 = \tfrac1n \sum_i (x_i - \mu)^2 .

The backward pass maps the upstream gradient :math:`g = \partial L/\partial y` to the
vector–Jacobian products :math:`\partial L/\partial v = \partial\,\langle g, y(v)\rangle /
\partial v` for each input :math:`v` in ``wrt``. The reference is exact: the forward is
written out entry by entry at the drawn sizes (:class:`~symdl.explicit.Instance`),
:math:`\langle g, y\rangle` is differentiated by SymPy, and the result is evaluated with
mpmath at 30 digits at the user's inputs.

When the user's gradient is wrong, each reduction inside the forward (a ``sum``,
``mean`` or ``logsumexp`` of an input — the batch mean, the batch variance, a softmax
normaliser) is held constant in turn (a stop-gradient), and the claim is compared with
that variant: a match names the term the backward pass lost ("the term that flows back
through mean(x)"). Each candidate must match at the counterexample and at perturbed
copies of it, so a coincidence at one point is not reported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from symdl.explicit import Instance
from symdl.nodes import EntrySum, LogSumExp
from symdl.parse import parse
from symdl.shapes import Scope, Shape
from symdl.unparse import to_text
from symdl.verify.diagnose import diagnose
from symdl.verify.precise import Evaluator, NotAdmissible
from symdl.verify.report import Entry, Evidence, Report, worst_entries

__all__ = ["LayerProblem", "LayerSpec", "Outcome"]

Values = Mapping[str, Any]

EPS = float(np.finfo(np.float64).eps)
#: ulps of rounding allowed per unit of the rounding scale S (:meth:`LayerProblem._scale`):
#: a float64 layer does a few operations per term, each rounding by at most one ulp.
ROUNDING = 64


@dataclass(frozen=True)
class LayerSpec:
    """A layer's forward pass in the input language, its input shapes and the gradients
    its backward pass returns.

    ``shapes`` declares the array inputs (``{"x": "n"}``: a vector of any size ``n``,
    ``{"W": "m x n"}``); undeclared names are scalars. ``wrt`` lists, in order, the
    inputs whose gradients ``backward`` returns (default: every declared array).
    ``assume`` gives kinds (``positive``, ``spd``, ``probability``, …) as in
    :func:`symdl.check_derivative`.
    """

    forward: str
    shapes: Mapping[str, str] = field(default_factory=dict)
    wrt: tuple[str, ...] = ()
    assume: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The comparison at one point: ``ok``, or what differs and where."""

    ok: bool
    part: str = ""  # "forward", "gradient of x", "shape", "error"
    reason: str = ""
    claimed: np.ndarray | None = None
    true: np.ndarray | None = None
    worst: float = 0.0  # max |c − t| / (atol/rtol + scale): the check passes iff <= rtol
    tolerance: float = 0.0  # the absolute tolerance atol + rtol·scale applied


class LayerProblem:
    """A parsed :class:`LayerSpec`: the exact forward and gradients at any sizes."""

    def __init__(self, spec: LayerSpec) -> None:
        self.spec = spec
        self.scope = Scope.build(spec.shapes, spec.assume)
        self.forward = parse(spec.forward, scope=self.scope)
        self.out_shape: Shape = tuple(
            int(d) if isinstance(d, (int, sp.Integer)) else d
            for d in getattr(self.forward, "shape", ())
        )
        names = {s.name for s in self.forward.free_symbols if isinstance(s, sp.Symbol)}
        names |= {m.name for m in self.forward.atoms(sp.MatrixSymbol)}
        names -= {d.name for d in self.scope.dims()}
        self.names = tuple(sorted(names))
        self.wrt = tuple(spec.wrt) or tuple(n for n in self.names if self.scope.shape(n))
        missing = [w for w in self.wrt if w not in self.names]
        if missing:
            raise ValueError(f"wrt names {missing} do not occur in the forward {spec.forward!r}")
        self.grad_name = next(
            g for g in ("grad_output", "grad_y", "g_upstream") if g not in self.names
        )
        shapes = dict(self.scope.shapes)
        if self.out_shape:
            shapes[self.grad_name] = self.out_shape
        self.gscope = Scope(shapes, dict(self.scope.assume))
        g = self.gscope.symbol(self.grad_name)
        if self.out_shape:
            self.pairing = EntrySum(sp.HadamardProduct(g, self.forward))
        else:
            self.pairing = g * self.forward
        self.reductions = _reductions(self.forward, set(self.wrt))

    def shapes(self) -> dict[str, Shape]:
        """The shapes of every input and of the upstream gradient (``()`` for a scalar)."""
        out = {n: self.scope.shape(n) for n in self.names}
        out[self.grad_name] = self.out_shape
        return out

    def describe_reduction(self, r: sp.Basic) -> str:
        text = to_text(r)
        for q in sp.preorder_traversal(r):
            if isinstance(q, EntrySum):
                size = sp.Mul(*q.args[0].shape)
                if self.forward.has(q / size):
                    text = text.replace(to_text(q / size), "mean" + to_text(q)[len("sum") :])
        size = sp.Mul(*r.args[0].shape)
        if isinstance(r, EntrySum) and self.forward.has(r / size) and text.startswith("sum"):
            text = "mean" + text[len("sum") :]
        return text

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one problem object per check_layer call
    def _exact(self, sizes: tuple[tuple[sp.Symbol, int], ...]) -> _Exact:
        inst = Instance.build(self.gscope, dict(sizes), {*self.names, self.grad_name})
        forward = inst.lower(self.forward)
        grads = {w: _gradient(inst, inst.lower(self.pairing), w) for w in self.wrt}
        variants = []
        for k, r in enumerate(self.reductions):
            held = sp.Symbol(f"held_{k}", real=True)
            pairing = inst.lower(self.pairing.xreplace({r: held}))
            variants.append(
                (r, held, inst.lower(r), {w: _gradient(inst, pairing, w) for w in self.wrt})
            )
        return _Exact(inst, forward, grads, tuple(variants))

    def exact(self, values: Values) -> _Exact:
        sizes = {}
        for name in (*self.names, self.grad_name):
            shape = self.gscope.shape(name)
            got = np.shape(values[name])
            dims = (got[0], 1) if len(got) == 1 else got
            for d, n in zip(shape, dims):
                if isinstance(d, sp.Symbol):
                    sizes[d] = int(n)
        return self._exact(tuple(sorted(sizes.items(), key=lambda t: t[0].name)))

    def point(self, exact: _Exact, values: Values) -> dict[sp.Symbol, Any]:
        out: dict[sp.Symbol, Any] = {}
        for name in (*self.names, self.grad_name):
            if self.gscope.shape(name):
                flat = np.asarray(values[name], dtype=np.float64).ravel()
                out.update({s: float(v) for s, v in zip(exact.instance.entries[name], flat)})
            else:
                out[self.gscope.symbol(name)] = float(values[name])
        return out

    def admissible(self, values: Values) -> bool:
        """The forward and every gradient are defined (and finite) at ``values``."""
        try:
            exact = self.exact(values)
            ev = Evaluator(self.point(exact, values), dps=30)
            for e in (exact.forward, *exact.grads.values()):
                _evaluate(ev, e)
        except (NotAdmissible, ZeroDivisionError, OverflowError, ValueError):
            return False
        return True

    def gradient(self, values: Values, wrt: str, shape: tuple[int, ...]) -> np.ndarray:
        """The exact gradient of ``wrt`` at ``values``, in the user's layout ``shape``."""
        exact = self.exact(values)
        ev = Evaluator(self.point(exact, values), dps=30)
        return _evaluate(ev, exact.grads[wrt]).reshape(shape)

    def compare(
        self,
        values: Values,
        forward: Callable[..., Any],
        backward: Callable[..., Any],
        *,
        rtol: float,
        atol: float,
    ) -> Outcome:
        exact = self.exact(values)
        ev = Evaluator(self.point(exact, values), dps=30)
        inputs = {n: _copy(values[n]) for n in self.names}
        try:
            y = np.asarray(forward(**inputs), dtype=np.float64)
        except Exception as err:  # the user's code failing is a finding, not a crash
            return Outcome(False, "forward", f"forward raised {type(err).__name__}: {err}")
        want = _evaluate(ev, exact.forward)
        out = self._judge(
            "forward", y, want, self.out_shape, rtol, atol, lambda: self._scale(values, None)
        )
        if not out.ok:
            return out
        try:
            got = backward(_copy(values[self.grad_name]), **inputs)
        except Exception as err:
            return Outcome(False, "backward", f"backward raised {type(err).__name__}: {err}")
        got = _as_tuple(got, len(self.wrt))
        if isinstance(got, str):
            return Outcome(False, "backward", got)
        worst = out.worst
        for w, g in zip(self.wrt, got):
            want = _evaluate(ev, exact.grads[w])
            shape = self.scope.shape(w)
            res = self._judge(
                f"gradient of {w}",
                g,
                want,
                shape,
                rtol,
                atol,
                functools.partial(self._scale, values, w),
            )
            if not res.ok:
                return res
            worst = max(worst, res.worst)
        return Outcome(True, worst=worst)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one problem object per check_layer call
    def _shifted(
        self, sizes: tuple[tuple[sp.Symbol, int], ...], k: int, target: str | None
    ) -> tuple[sp.Symbol, sp.Basic]:
        """The forward (``target=None``) or gradient of ``target`` with the value of the
        k-th reduction shifted by a symbol: ``r → r + shift`` before differentiating, so
        the derivative in ``shift`` is the effect of rounding r where it is computed."""
        inst = self._exact(sizes).instance
        shift = sp.Symbol(f"shift_{k}", real=True)
        r = self.reductions[k]
        if target is None:
            return shift, inst.lower(self.forward.xreplace({r: r + shift}))
        return shift, _gradient(inst, inst.lower(self.pairing.xreplace({r: r + shift})), target)

    def _scale(self, values: Values, target: str | None) -> float:
        r"""The rounding scale :math:`S` of a float64 evaluation of the forward
        (``target=None``) or of the gradient of ``target``: the first-order effect of a
        relative perturbation of every input entry :math:`v_k` (the upstream gradient
        included) and of every reduction :math:`r_m` (a mean, a variance) where it is
        computed,

        .. math:: S = \max_i \Big(\sum_k |\partial F_i/\partial v_k|\,|v_k|
                  + \sum_m |\partial F_i/\partial r_m|\,|r_m|\Big).

        A float64 computation has errors of order :math:`\varepsilon S` even when
        :math:`F` itself cancels to 0 (:math:`\sum_i g_i \hat x_i` with equal
        :math:`x_i`). Partial derivatives are central differences of the exact values in
        30-digit arithmetic (relative step :math:`10^{-12}`)."""
        exact = self.exact(values)
        sizes = tuple(sorted(exact.instance.sizes.items(), key=lambda t: t[0].name))
        e = exact.forward if target is None else exact.grads[target]
        at = self.point(exact, values)
        moves: list[tuple[sp.Basic, dict[sp.Symbol, Any], sp.Symbol, Any]] = [
            (e, at, s, v) for s, v in at.items()
        ]
        for k, (_, _, lowered, _) in enumerate(exact.variants):
            shift, shifted = self._shifted(sizes, k, target)
            value = Evaluator(dict(at), dps=30)(lowered)
            moves.append((shifted, {**at, shift: 0}, shift, value))
        total = np.zeros(len(e) if isinstance(e, sp.MatrixBase) else 1)
        with mpmath.workdps(30):
            for expr, point, s, v in moves:
                if v == 0:
                    continue
                h = abs(mpmath.mpf(v)) * mpmath.mpf(10) ** -12
                up, down = dict(point), dict(point)
                up[s], down[s] = point[s] + h, point[s] - h
                try:
                    hi = _evaluate(Evaluator(up, dps=30), expr, exact=True)
                    lo = _evaluate(Evaluator(down, dps=30), expr, exact=True)
                except (NotAdmissible, ZeroDivisionError, OverflowError, ValueError):
                    return np.inf  # at a domain edge: the rounding scale is unbounded
                slopes = [abs(float((a - b) / (2 * h) * v)) for a, b in zip(hi, lo)]
                total += np.array(slopes)
        return float(np.max(total))

    def _judge(
        self,
        part: str,
        got: Any,
        want: np.ndarray,
        shape: Shape,
        rtol: float,
        atol: float,
        rounding: Callable[[], float],
    ) -> Outcome:
        claimed = np.asarray(got, dtype=np.float64)
        want_user = want.reshape(-1) if len(shape) == 2 and shape[1] == 1 else want
        want_user = want_user.reshape(()) if not shape else want_user
        if claimed.shape != want_user.shape:
            if claimed.size == want_user.size and len(shape) == 2 and shape[1] == 1:
                claimed = claimed.reshape(want_user.shape)  # a column for a vector is fine
            else:
                reason = f"{part} has shape {claimed.shape}, expected {want_user.shape}"
                return Outcome(False, part, reason, claimed, want_user)
        if not np.all(np.isfinite(claimed)):
            bad = tuple(int(k) for k in np.argwhere(~np.isfinite(claimed))[0])
            reason = f"{part} is not finite at {list(bad)}"
            return Outcome(False, part, reason, claimed, want_user, np.inf)
        err = np.abs(claimed - want_user)
        scale = float(np.max(np.abs(want_user), initial=0.0))
        tol = atol + rtol * scale
        if not np.all(err <= tol):
            # float64 rounding of the terms that cancel (see _scale), a few ulps per term
            tol += ROUNDING * EPS * rounding()
        top = float(np.max(err, initial=0.0))
        worst = rtol * top / tol if tol > 0 else (0.0 if top == 0 else np.inf)
        if np.all(err <= tol):
            return Outcome(True, part, claimed=claimed, true=want_user, worst=worst, tolerance=tol)
        k = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
        where = f"[{', '.join(map(str, k))}] " if k else ""
        reason = (
            f"{part} differs from the exact value: {where}claimed {claimed[k]:.6g}, exact "
            f"{want_user[k]:.6g} (tolerance {tol:.1e})"
        )
        return Outcome(False, part, reason, claimed, want_user, worst, tol)

    def missing_terms(
        self, wrt: str, points: Sequence[Values], claims: Sequence[np.ndarray], rtol: float
    ) -> list[str]:
        """The reductions whose stop-gradient variant equals the claimed gradient of ``wrt``
        at every point."""
        found = []
        for k, r in enumerate(self.reductions):
            fits = bool(points)
            for values, claimed in zip(points, claims):
                exact = self.exact(values)
                _, held, lowered, grads = exact.variants[k]
                at = self.point(exact, values)
                at[held] = Evaluator(dict(at), dps=30)(lowered)
                model = _evaluate(Evaluator(at, dps=30), grads[wrt]).reshape(np.shape(claimed))
                scale = max(float(np.max(np.abs(model), initial=0.0)), 1e-300)
                fits &= bool(np.all(np.abs(np.asarray(claimed) - model) <= rtol * scale))
            if fits:
                text = self.describe_reduction(r)
                found.append(
                    f"the claim equals the gradient with {text} held constant: the term that "
                    f"flows back through {text} is missing"
                )
        return found

    def report(
        self,
        values: Values,
        outcome: Outcome,
        *,
        examples: int,
        rtol: float,
        extra: Sequence[tuple[Values, np.ndarray]] = (),
    ) -> Report:
        title = f"layer {self.spec.forward}: forward and gradients of {', '.join(self.wrt)}"
        sizes = self.exact(values).instance.describe()
        evidence = Evidence(
            "exact-gradient",
            "differ",
            f"{outcome.part} wrong at the shrunk example ({sizes}); "
            f"the first failure of {examples} hypothesis examples",
            points=examples,
            worst_error=_relative(outcome),
            tolerance=rtol,
        )
        entries: list[Entry] = []
        diagnosis: list[str] = [outcome.reason]
        if outcome.claimed is not None and outcome.true is not None:
            c, t = outcome.claimed, outcome.true
            if c.shape == t.shape:
                entries = worst_entries(c, t, outcome.tolerance)
                if outcome.part.startswith("gradient"):
                    wrt = outcome.part.removeprefix("gradient of ")
                    points = [values, *(v for v, _ in extra)]
                    claims = [c, *(g for _, g in extra)]
                    diagnosis += self.missing_terms(wrt, points, claims, rtol)
                    trues = [t, *(self.gradient(v, wrt, np.shape(g)) for v, g in extra)]
                    found = diagnose(claims, trues, rtol=rtol)
                    diagnosis += [f.message for f in found]
        counterexample = {n: _show(values[n]) for n in (*self.names, self.grad_name)}
        return Report(
            "refuted",
            title,
            "exact gradient (SymPy, entry by entry) at hypothesis examples",
            (evidence,),
            counterexample=counterexample,
            entries=tuple(entries),
            diagnosis=tuple(diagnosis),
        )


@dataclass(frozen=True)
class _Exact:
    instance: Instance
    forward: sp.Basic
    grads: Mapping[str, sp.Basic]
    variants: tuple[tuple[sp.Basic, sp.Symbol, sp.Basic, Mapping[str, sp.Basic]], ...]


def _reductions(expr: sp.Basic, wrt: set[str]) -> tuple[sp.Basic, ...]:
    """Distinct sums and log-sum-exps in ``expr`` that depend on an input in ``wrt``."""
    found: list[sp.Basic] = []
    for e in sp.preorder_traversal(expr):
        depends = {m.name for m in e.atoms(sp.MatrixSymbol)} & wrt
        if isinstance(e, (EntrySum, LogSumExp)) and e not in found and depends:
            found.append(e)
    return tuple(found)


def _gradient(inst: Instance, pairing: sp.Basic, wrt: str) -> sp.Basic:
    if isinstance(pairing, sp.MatrixBase):
        pairing = pairing[0, 0]
    if wrt in inst.entries:
        m = inst.entries[wrt]
        return sp.ImmutableMatrix(m.rows, m.cols, lambda i, j: sp.diff(pairing, m[i, j]))
    var = inst.scope.symbol(wrt)
    return sp.diff(pairing, var)


def _evaluate(ev: Evaluator, e: sp.Basic, *, exact: bool = False) -> Any:
    if exact:  # mpf values, flattened, for differences taken in high precision
        return [ev(v) for v in e] if isinstance(e, sp.MatrixBase) else [ev(e)]
    with mpmath.workdps(30):
        if isinstance(e, sp.MatrixBase):
            return np.array([[float(ev(v)) for v in row] for row in e.tolist()], dtype=np.float64)
        return np.array(float(ev(e)))


def _copy(v: Any) -> Any:
    return np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v


def _as_tuple(got: Any, n: int) -> tuple[Any, ...] | str:
    if n == 1 and not isinstance(got, (tuple, list)):
        return (got,)
    if not isinstance(got, (tuple, list)) or len(got) != n:
        count = len(got) if isinstance(got, (tuple, list)) else 1
        return f"backward returned {count} gradients for {n} inputs"
    return tuple(got)


def _relative(outcome: Outcome) -> float | None:
    """The largest entrywise relative error |c − t| / max(|c|, |t|) of a failed part."""
    c, t = outcome.claimed, outcome.true
    if c is None or t is None or c.shape != t.shape or not c.size:
        return None
    with np.errstate(all="ignore"):
        rel = np.abs(c - t) / np.maximum(np.maximum(np.abs(c), np.abs(t)), 1e-300)
    return float(np.max(np.where(np.isfinite(rel), rel, np.inf)))


def _show(v: Any) -> Any:
    return v.tolist() if isinstance(v, np.ndarray) else v
