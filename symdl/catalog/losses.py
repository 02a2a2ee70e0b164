"""Loss functions as data, each with its gradient by the prediction in the textbook form.

A scalar loss is an expression in ``Z`` (prediction or logit) and ``Y`` (target); a vector
loss is input-language text over the column vectors ``z`` and ``y`` (shapes
:data:`VECTOR_SHAPES`). Every canonical gradient is checked against the derivative by the
test suite (``tests/test_catalog_losses.py``), and convexity in ``z`` is never typed in:
:func:`convexity` establishes it, with evidence.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import mpmath
import sympy as sp

from symdl.budget import run_with_budget
from symdl.catalog.entry import Loss, Parameter, Y, Z
from symdl.catalog.properties import Established
from symdl.errors import SymdlError
from symdl.explicit import Instance
from symdl.nodes import sigmoid
from symdl.parse import parse
from symdl.registry import Registry
from symdl.shapes import Scope
from symdl.verify.admissible import conditions
from symdl.verify.precise import Evaluator, NotAdmissible
from symdl.verify.symbolic import elementary

__all__ = [
    "GAUSSIAN_NLL_VARIANCE_GRADIENT",
    "LOSSES",
    "TARGETS",
    "VECTOR_SHAPES",
    "convexity",
]

LOSSES = Registry[Loss]("loss")

#: The shapes of ``z`` and ``y`` in the text of every vector loss.
VECTOR_SHAPES: Mapping[str, str] = {"z": "n", "y": "n"}

#: The targets each scalar loss is defined for; convexity in ``z`` is decided for all of them.
TARGETS: dict[str, sp.Set] = {}

#: Seconds SymPy may spend on one step of a convexity argument.
SYMPY_BUDGET = 10.0

z, y = Z, Y
r = z - y
_delta = sp.Symbol("delta", positive=True)
_gamma = sp.Symbol("gamma", nonnegative=True)
_alpha = sp.Symbol("alpha", positive=True)
_var = sp.Symbol("var", positive=True)


def _add(
    name: str, expr: sp.Expr, gradient: sp.Expr, latex: str, targets: sp.Set, **kw: Any
) -> None:
    LOSSES.add(Loss(name, expr, gradient, latex, **kw))
    TARGETS[name] = targets


def _add_vector(name: str, expr_text: str, gradient_text: str, latex: str, **kw: Any) -> None:
    LOSSES.add(
        Loss(
            name,
            parse(expr_text, VECTOR_SHAPES),
            parse(gradient_text, VECTOR_SHAPES),
            latex,
            vector=True,
            expr_text=expr_text,
            gradient_text=gradient_text,
            **kw,
        )
    )


_add(
    "mse",
    r**2,
    2 * r,
    r"(z - y)^2",
    sp.S.Reals,
    domain="z, y ∈ ℝ",
    doc="squared error (z − y)²; the mean over a batch is taken outside",
)
_add(
    "mae",
    sp.Abs(r),
    sp.sign(r),
    r"\lvert z - y \rvert",
    sp.S.Reals,
    domain="z, y ∈ ℝ; kink at z = y, where sign(0) = 0 is a subgradient",
    doc="absolute error |z − y|",
)
_add(
    "huber",
    sp.Piecewise(
        (-_delta * (r + _delta / 2), r < -_delta),
        (r**2 / 2, r <= _delta),
        (_delta * (r - _delta / 2), True),
    ),
    sp.Piecewise((-_delta, r < -_delta), (r, r <= _delta), (_delta, True)),
    r"\begin{cases} \tfrac12 (z - y)^2 & \lvert z - y \rvert \le \delta \\ "
    r"\delta \left(\lvert z - y \rvert - \tfrac12 \delta\right) & \text{otherwise} \end{cases}",
    sp.S.Reals,
    parameters=(Parameter("delta", sp.Integer(1), "positive", doc="where |z − y| turns linear"),),
    domain="z, y ∈ ℝ; C¹, the second derivative jumps at |z − y| = δ",
    reference="Huber, Robust Estimation of a Location Parameter, Ann. Math. Statist. 35 (1964)",
    doc="quadratic for |z − y| ≤ δ, linear beyond; gradient clip(z − y, −δ, δ)",
)
_add(
    "bce",
    -(y * sp.log(z) + (1 - y) * sp.log(1 - z)),
    (z - y) / (z * (1 - z)),
    r"-\left(y \log z + (1 - y) \log(1 - z)\right)",
    sp.Interval(0, 1),
    domain="prediction z ∈ (0, 1) a probability, target y ∈ [0, 1]",
    doc="binary cross-entropy on probabilities",
)
_add(
    "bce_logits",
    -y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z)),
    sigmoid(z) - y,
    r"-\left(y \log \sigma(z) + (1 - y) \log(1 - \sigma(z))\right)",
    sp.Interval(0, 1),
    domain="logit z ∈ ℝ, target y ∈ [0, 1]",
    doc="binary cross-entropy on the logit z (PyTorch's BCEWithLogitsLoss); gradient σ(z) − y",
)
_pt = sigmoid(y * z)  # p_t = σ(x_t) with x_t = yx (Lin et al., appendix)
_alpha_t = _alpha * (1 + y) / 2 + (1 - _alpha) * (1 - y) / 2
_add(
    "focal",
    -_alpha_t * (1 - _pt) ** _gamma * sp.log(_pt),
    _alpha_t * y * (1 - _pt) ** _gamma * (_gamma * _pt * sp.log(_pt) + _pt - 1),
    r"-\alpha_t (1 - p_t)^{\gamma} \log p_t",
    sp.FiniteSet(-1, 1),
    parameters=(
        Parameter("gamma", sp.Integer(2), "nonnegative", doc="focusing parameter γ ≥ 0"),
        Parameter("alpha", sp.Rational(1, 4), "unit", doc="weight α of the class y = 1"),
    ),
    domain="logit z ∈ ℝ, label y ∈ {−1, 1}; p_t = σ(yz), α_t = α for y = 1, 1 − α for y = −1",
    reference="Lin, Goyal, Girshick, He, Dollár, Focal Loss for Dense Object Detection "
    "(ICCV 2017, arXiv:1708.02002), eq. 5; the derivative dFL/dx = y(1 − p_t)^γ "
    "(γ p_t log(p_t) + p_t − 1) (α_t = 1) is in the appendix (x_t = yx, p_t = σ(x_t))",
    doc="α-balanced focal loss on the logit; the gradient is the paper's, times α_t",
)
_add(
    "hinge",
    sp.Max(0, 1 - y * z),
    -y * sp.Heaviside(1 - y * z),
    r"\max(0, 1 - y z)",
    sp.FiniteSet(-1, 1),
    domain="score z ∈ ℝ, label y ∈ {−1, 1}; kink at yz = 1, where −y/2 is a subgradient",
    reference="Cortes & Vapnik, Support-Vector Networks, Machine Learning 20 (1995)",
    doc="the SVM hinge loss",
)
_add(
    "squared_hinge",
    sp.Max(0, 1 - y * z) ** 2,
    -2 * y * sp.Max(0, 1 - y * z),
    r"\max(0, 1 - y z)^2",
    sp.FiniteSet(-1, 1),
    domain="score z ∈ ℝ, label y ∈ {−1, 1}; C¹",
    doc="the squared hinge (L2-SVM) loss",
)
#: ∂/∂σ² of the Gaussian negative log-likelihood, in the form textbooks write.
GAUSSIAN_NLL_VARIANCE_GRADIENT = 1 / (2 * _var) - r**2 / (2 * _var**2)
_add(
    "gaussian_nll",
    sp.log(2 * sp.pi * _var) / 2 + (y - z) ** 2 / (2 * _var),
    (z - y) / _var,
    r"\tfrac12 \log(2\pi\sigma^2) + \frac{(y - \mu)^2}{2\sigma^2}",
    sp.S.Reals,
    parameters=(
        Parameter("var", sp.Integer(1), "positive", learnable=True, doc="the variance σ²"),
    ),
    domain="mean z = μ ∈ ℝ, target y ∈ ℝ, variance σ² > 0",
    reference="PyTorch's GaussianNLLLoss (with the constant ½ log 2π kept)",
    doc="negative log-likelihood of y under N(μ, σ²) with μ = z; "
    "∂/∂μ = (μ − y)/σ², ∂/∂σ² = 1/(2σ²) − (y − μ)²/(2σ⁴) (GAUSSIAN_NLL_VARIANCE_GRADIENT)",
)

_add_vector(
    "softmax_ce",
    "-sum(y * log_softmax(z))",
    "softmax(z) - y",
    r"-\sum_i y_i \log \operatorname{softmax}(z)_i",
    assume={"y": "probability"},
    domain="logits z ∈ ℝⁿ, y a probability vector (one-hot or soft labels)",
    doc="softmax cross-entropy; the gradient softmax(z) − y needs Σ y = 1",
)
_add_vector(
    "nll",
    "-sum(y * log(z))",
    "-y / z",
    r"-\sum_i y_i \log p_i",
    assume={"y": "probability", "z": "probability"},
    domain="z = p a probability vector with positive entries, y a probability vector",
    doc="negative log-likelihood of the probabilities z = p",
)
_add_vector(
    "kl",
    "sum(y * log(y / z))",
    "-y / z",
    r"\sum_i y_i \log \frac{y_i}{z_i}",
    assume={"y": "probability", "z": "probability"},
    domain="y and z probability vectors with positive entries",
    reference="Kullback & Leibler, On Information and Sufficiency, Ann. Math. Statist. 22 (1951)",
    doc="KL(y ‖ z); its gradient by z is the nll's, since KL = cross-entropy − H(y)",
)


# ---- convexity in z ----------------------------------------------------------------------


def convexity(loss: Loss, **values: object) -> Established:
    r"""Whether ``loss`` is convex in ``z`` for every admissible target, with evidence.

    Scalar losses: convex iff :math:`f'' \ge 0` on each piece between kinks, ``f`` is
    continuous at each kink and :math:`f'` jumps upward there (SymPy under a time budget;
    a piece SymPy cannot decide is searched for a point where :math:`f'' < 0`, evaluated
    in 30 digits and confirmed in 60). Vector losses: the Hessian is positive semidefinite
    (SymPy at n = 2, 3, 4). Parameters are at their defaults unless given.

    >>> convexity(LOSSES.get("mse")).value
    True
    """
    if loss.vector:
        return _vector_convexity(loss)
    f, _ = loss.at(**values)
    cases, how = _target_cases(f, TARGETS[loss.name])
    if cases is None:
        return Established("undecided", "sympy", how)
    methods: list[str] = []
    notes: list[str] = []
    for label, g in cases:
        found = _univariate(g)
        if found.value is not True:
            return Established(found.value, found.method, f"{label}: {found.evidence}")
        methods += [m for m in found.method.split(" and ") if m not in methods]
        notes.append(f"{label}: {found.evidence}")
    return Established(True, " and ".join(methods), f"{how}; " + "; ".join(notes))


def _target_cases(f: sp.Expr, targets: sp.Set) -> tuple[list[tuple[str, sp.Expr]] | None, str]:
    if targets == sp.S.Reals:
        g = f.xreplace({Y: 0})
        if g.xreplace({Z: Z - Y}) == f or _budget(_is_zero, g.xreplace({Z: Z - Y}) - f):
            return [("y = 0", g)], "f depends on z − y only, so y = 0 stands for every target"
        return None, "f does not depend on z − y only; convexity for every real y is not decided"
    if isinstance(targets, sp.FiniteSet):
        return [(f"y = {v}", f.xreplace({Y: v})) for v in targets], f"y ∈ {targets}"
    if isinstance(targets, sp.Interval) and _budget(_is_zero, sp.diff(f, Y, 2)):
        a, b = targets.inf, targets.sup
        cases = [(f"y = {a}", f.xreplace({Y: a})), (f"y = {b}", f.xreplace({Y: b}))]
        return cases, (
            f"f is affine in y, so for y ∈ {targets} it is a convex combination of the "
            f"cases y = {a} and y = {b}"
        )
    return None, f"targets {targets}: convexity for every target is not decided"


def _is_zero(e: sp.Expr) -> bool:
    return any(
        step(e) == 0
        for step in (
            sp.expand,
            lambda v: sp.cancel(sp.together(v)),
            sp.simplify,
            lambda v: sp.simplify(elementary(v)),
        )
    )


R = TypeVar("R")


def _budget(fn: Callable[..., R], *args: Any) -> R | None:
    try:
        return run_with_budget(fn, *args, timeout=SYMPY_BUDGET)
    except SymdlError:
        return None


def _univariate(g: sp.Expr) -> Established:
    folded = sp.piecewise_fold(g.rewrite(sp.Piecewise))
    split = _budget(_breakpoints, folded)
    if split is None:
        return Established("undecided", "sympy", f"could not locate the kinks of {g}")
    kinks, edges = split
    points = sorted(set(kinks) | set(edges), key=float)
    bounds = [-sp.oo, *points, sp.oo]
    pieces: list[tuple[sp.Expr, sp.Expr, sp.Expr]] = []  # (lo, hi, branch)
    for lo, hi in itertools.pairwise(bounds):
        mid = _midpoint(lo, hi)
        if _admissible(folded, mid):
            pieces.append((lo, hi, _branch(folded, mid)))
    if not pieces:
        return Established("undecided", "sympy", "no admissible interval found")
    evidence: list[str] = []
    methods = ["sympy"]
    for (_, hi, left), (lo, _, right) in itertools.pairwise(pieces):
        if hi != lo or hi not in kinks:
            return Established(False, "sympy", f"the domain is not an interval (gap at z = {hi})")
        jump = _kink(left, right, hi)
        if jump.value is not True:
            return jump
        evidence.append(jump.evidence)
        if "one-sided derivatives" not in methods:
            methods.append("one-sided derivatives")
    for lo, hi, branch in pieces:
        found = _piece(sp.diff(branch, Z, 2), lo, hi)
        if found.value is not True:
            return found
        evidence.append(found.evidence)
    return Established(True, " and ".join(methods), "; ".join(evidence))


def _breakpoints(folded: sp.Expr) -> tuple[list[sp.Expr], list[sp.Expr]]:
    kinks: list[sp.Expr] = []
    edges: list[sp.Expr] = []
    for c in conditions([folded]):
        target = kinks if c.kind == "kink" else edges
        roots = sp.solveset(elementary(c.expr), Z, domain=sp.S.Reals)
        if not isinstance(roots, sp.FiniteSet) and roots is not sp.S.EmptySet:
            raise SymdlError(f"cannot solve {c.expr} = 0")
        target.extend(v for v in roots if v not in target)
    return kinks, edges


def _midpoint(lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    if lo == -sp.oo and hi == sp.oo:
        return sp.S.Zero
    if lo == -sp.oo:
        return hi - 1
    if hi == sp.oo:
        return lo + 1
    return (lo + hi) / 2


def _admissible(f: sp.Expr, at: sp.Expr) -> bool:
    try:
        Evaluator({Z: Evaluator({}, dps=30)(at)}, dps=30)(f)
    except (NotAdmissible, ZeroDivisionError, ValueError):
        return False
    return True


def _branch(f: sp.Expr, at: sp.Expr) -> sp.Expr:
    if not isinstance(f, sp.Piecewise):
        return f
    for value, cond in f.args:
        if bool(cond.subs(Z, at)):
            return value
    raise SymdlError(f"no branch of {f} applies at z = {at}")


def _kink(left: sp.Expr, right: sp.Expr, at: sp.Expr) -> Established:
    """Convex across a kink iff continuous there and the derivative jumps upward."""
    gap = sp.simplify(left.subs(Z, at) - right.subs(Z, at))
    d_left = sp.simplify(sp.diff(left, Z).subs(Z, at))
    d_right = sp.simplify(sp.diff(right, Z).subs(Z, at))
    where = f"at z = {at}: f'(−) = {d_left}, f'(+) = {d_right}"
    if gap.is_zero is False:
        return Established(False, "one-sided derivatives", f"f jumps by {-gap} at z = {at}")
    jump = sp.simplify(d_right - d_left)
    if gap.is_zero and jump.is_nonnegative:
        return Established(True, "one-sided derivatives", f"{where} (jumps upward or not at all)")
    if gap.is_zero and jump.is_negative:
        return Established(False, "one-sided derivatives", f"{where}: the derivative jumps down")
    return Established("undecided", "one-sided derivatives", f"{where}; jump {-gap} in f")


_NEGLIGIBLE = mpmath.mpf(10) ** -20


def _piece(d2: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> Established:
    where = f"on ({lo}, {hi})"
    if _budget(_nonnegative, d2, lo, hi):
        return Established(True, "sympy", f"f'' = {sp.simplify(d2)} ≥ 0 {where}")
    for at in _grid(lo, hi):
        value = Evaluator({Z: at}, dps=30)(d2)
        # far below the rounding error of a 30-digit evaluation, and kept at 60 digits
        if value < -_NEGLIGIBLE and Evaluator({Z: at}, dps=60)(d2) < -_NEGLIGIBLE:
            return Established(
                False,
                "counterexample",
                f"f''({mpmath.nstr(at, 10)}) = {mpmath.nstr(value, 10)} < 0 "
                "(30-digit evaluation, confirmed in 60 digits)",
            )
    return Established("undecided", "sympy", f"no sign found for f'' = {d2} {where}")


def _nonnegative(d2: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> bool:
    t = sp.Symbol("t", positive=True)
    if lo == -sp.oo and hi == sp.oo:
        at: sp.Expr = Z
    elif lo == -sp.oo:
        at = hi - t
    elif hi == sp.oo:
        at = lo + t
    else:
        at = lo + (hi - lo) * t / (1 + t)
    e = d2.subs(Z, at)
    for form in (e, sp.simplify(e), sp.simplify(elementary(e)), sp.factor(elementary(e))):
        if form.is_nonnegative:
            return True
    return False


def _grid(lo: sp.Expr, hi: sp.Expr) -> list[mpmath.mpf]:
    a = mpmath.mpf(-60) if lo == -sp.oo else Evaluator({}, dps=30)(lo)
    b = mpmath.mpf(60) if hi == sp.oo else Evaluator({}, dps=30)(hi)
    return [a + (b - a) * k / 961 for k in range(1, 961)]


def _vector_convexity(loss: Loss) -> Established:
    scope = Scope.build(VECTOR_SHAPES, loss.assume)
    (n,) = scope.dims()
    proofs = []
    for size in (2, 3, 4):
        inst = Instance.build(scope, {n: size}, {"z", "y"})
        positive = {
            s: sp.Symbol(s.name, positive=True)
            for name, m in inst.entries.items()
            if loss.assume.get(name) == "probability"
            for s in m
        }
        f = inst.lower(loss.expr).xreplace(positive)
        zs = [positive.get(s, s) for s in inst.entries["z"]]
        ys = [positive.get(s, s) for s in inst.entries["y"]]
        found = _budget(_hessian_psd, f, zs, ys)
        if found is None:
            return Established("undecided", "sympy", f"no PSD argument for the Hessian at n={size}")
        proofs.append(found)
    return Established(True, "sympy at n = 2, 3, 4", proofs[-1])


def _hessian_psd(f: sp.Expr, zs: list[sp.Symbol], ys: list[sp.Symbol]) -> str | None:
    h = sp.hessian(f, zs)
    size = len(zs)
    off = [h[i, j] for i in range(size) for j in range(size) if i != j]
    if all(sp.simplify(v) == 0 for v in off):
        if all(sp.simplify(h[i, i]).is_nonnegative for i in range(size)):
            return "the Hessian is diagonal with nonnegative entries (y_i/z_i² for y_i ≥ 0)"
        return None
    total = sp.Add(*[sp.exp(v) for v in zs])
    p = [sp.exp(v) / total for v in zs]
    logsumexp_hessian = sp.Matrix(size, size, lambda i, j: p[i] * sp.eye(size)[i, j] - p[i] * p[j])
    if not all(_is_zero(v) for v in h - sp.Add(*ys) * logsumexp_hessian):
        return None
    # vᵀ(diag(p) − ppᵀ)v = Σ pᵢvᵢ² − (Σ pᵢvᵢ)² = ½ Σᵢⱼ pᵢpⱼ(vᵢ − vⱼ)² once Σ p = 1
    q = sp.symbols(f"q:{size}", positive=True)
    v = sp.symbols(f"v:{size}", real=True)
    form = (
        sp.Add(*[q[i] * v[i] ** 2 for i in range(size)])
        - sp.Add(*[a * b for a, b in zip(q, v)]) ** 2
    )
    squares = (
        sp.Add(*[q[i] * q[j] * (v[i] - v[j]) ** 2 for i in range(size) for j in range(size)]) / 2
    )
    on_simplex = {q[-1]: 1 - sp.Add(*q[:-1])}
    if sp.expand((form - squares).xreplace(on_simplex)) != 0:
        return None
    return (
        "the Hessian is (Σ y)(diag(p) − ppᵀ) with p = softmax(z) and Σ y = 1, and "
        "vᵀ(diag(p) − ppᵀ)v = Σ pᵢvᵢ² − (Σ pᵢvᵢ)² = ½ Σᵢⱼ pᵢpⱼ(vᵢ − vⱼ)² ≥ 0 (the variance "
        "of v under p; Jensen) — both identities proved by SymPy at each size"
    )
