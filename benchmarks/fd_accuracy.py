"""Accuracy of symdl's finite differences against an mpmath reference.

Run: ``python -m benchmarks fd_accuracy``. Writes a Markdown table and its JSON.

For each smooth function of the suite, at points with ``|x|`` near 1e-3, 1 and 50, every
method estimates the gradient; the reference is ``mpmath.diff`` at 40 digits of an mpmath
twin of the same function, at the same float64 point. Relative error per entry is
``|a - b| / max(|a|, |b|, floor)`` with ``floor = 1e-3 * scale`` and ``scale =
max(max|grad|, |f(x)| / max(1, |x|))``: entries far below the gradient's scale (a
saturated sigmoid's 2e-22) are judged absolutely against it. A cell reads "median / worst
relative error over all entries (f calls per point)". The last column counts entries
whose reported ``error`` bound failed to cover the true error, over all five methods.

"fourth-order, noise not measured" is the stencil as ``gradcheck`` runs it first
(``noise=False``); entries its tighter bound misses are counted apart ("suspects without
noise"): in ``gradcheck`` they cost a re-check with the noise measured, not a verdict.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

from benchmarks.config import Config
from benchmarks.table import Table
from symdl.verify.finite import central, complex_step, differences, richardson
from symdl.verify.stencil import fourth_order

mp.mp.dps = 40
METHODS = {
    "central": central,
    "fourth-order": fourth_order,
    "richardson": richardson,
    "complex step": complex_step,
    "auto": differences,
}

_rng = np.random.default_rng(7)
X0, Y0 = _rng.normal(size=3), _rng.normal(size=3)
B1, W2, Y2, XM = (
    _rng.normal(size=4),
    _rng.normal(size=(2, 4)),
    _rng.normal(size=2),
    _rng.normal(size=3),
)
LSE, WB, W1B = _rng.normal(size=5), _rng.normal(size=(3, 3)), _rng.normal(size=(4, 3))
AB = 3 * np.eye(3) + 0.5 * _rng.normal(size=(3, 3))


def softplus(x):
    pos = x.real > 0  # branches picked by the real part: holomorphic and overflow-free
    return np.where(pos, x, 0) + np.log1p(np.exp(np.where(pos, -x, x)))


def logsumexp(x):
    shift = np.max(x.real)
    return shift + np.log(np.sum(np.exp(x - shift)))


def least_squares(w):
    return np.sum((w @ X0 - Y0) ** 2)


def mlp_loss(w1):
    return 0.5 * np.sum((W2 @ np.tanh(w1 @ XM + B1) - Y2) ** 2)


def logdet(a):
    sign, logabs = np.linalg.slogdet(a)
    return logabs + np.log(sign)


def _matrix(flat, shape):
    return mp.matrix([[flat[i * shape[1] + j] for j in range(shape[1])] for i in range(shape[0])])


def _vector(values):
    return mp.matrix([mp.mpf(float(v)) for v in values])


def least_squares_mp(flat):
    r = _matrix(flat, (3, 3)) * _vector(X0) - _vector(Y0)
    return sum(r[i] ** 2 for i in range(3))


def mlp_loss_mp(flat):
    z = _matrix(flat, (4, 3)) * _vector(XM)
    hidden = [mp.tanh(z[i] + mp.mpf(B1[i])) for i in range(4)]
    out = [sum(mp.mpf(W2[k, i]) * hidden[i] for i in range(4)) - mp.mpf(Y2[k]) for k in range(2)]
    return sum(o**2 for o in out) / 2


SCALARS = [np.array(v) for v in (1.3e-3, -1.1e-3, 0.7, -2.3, 49.7, -50.3)]
SCALES = (1e-3, 1.0, 50.0)
SUITE = {
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda a: 1 / (1 + mp.exp(-a[0])), SCALARS),
    "tanh": (np.tanh, lambda a: mp.tanh(a[0]), SCALARS),
    "softplus (stable)": (softplus, lambda a: mp.log(1 + mp.exp(a[0])), SCALARS),
    "x³ sin x": (lambda x: x**3 * np.sin(x), lambda a: a[0] ** 3 * mp.sin(a[0]), SCALARS),
    "exp(x)/(1+x²)": (
        lambda x: np.exp(x) / (1 + x**2),
        lambda a: mp.exp(a[0]) / (1 + a[0] ** 2),
        SCALARS,
    ),
    "logsumexp, x ∈ ℝ⁵": (
        logsumexp,
        lambda a: mp.log(sum(mp.exp(t) for t in a)),
        [c * LSE for c in SCALES],
    ),
    "sum((W@x-y)²), W 3×3": (least_squares, least_squares_mp, [c * WB for c in SCALES]),
    "tanh MLP loss, W₁ 4×3": (mlp_loss, mlp_loss_mp, [c * W1B for c in SCALES]),
    "logdet A, A 3×3": (
        logdet,
        lambda a: mp.log(mp.det(_matrix(a, (3, 3)))),
        [c * AB for c in SCALES],
    ),
}


def reference(f_mp, x):
    """The true gradient at the float64 point ``x`` and |f(x)|, from mpmath."""
    flat = [mp.mpf(float(v)) for v in np.ravel(x)]
    gradient = []
    for i in range(len(flat)):
        partial = tuple(int(j == i) for j in range(len(flat)))
        gradient.append(float(mp.diff(lambda *a: f_mp(list(a)), tuple(flat), partial)))
    return np.reshape(gradient, np.shape(x)), abs(float(f_mp(flat)))


def measure(f, f_mp, points, method):
    """All entries' relative errors, calls per point, and entries the bound missed."""
    errors, calls, missed = [], [], 0
    for x in points:
        truth, at_x = reference(f_mp, x)
        estimate = method(f, x)
        scale = max(float(np.max(np.abs(truth))), at_x / max(1.0, float(np.max(np.abs(x)))))
        floor = max(1e-3 * scale, np.finfo(float).tiny)
        diff = np.abs(estimate.value - truth)
        biggest = np.maximum(np.maximum(np.abs(estimate.value), np.abs(truth)), floor)
        errors.extend(np.ravel(diff / biggest))
        calls.append(estimate.evaluations)
        missed += int(np.sum(diff > estimate.error))
    return np.array(errors), float(np.mean(calls)), missed


def _without_noise(f, x):
    return fourth_order(f, x, noise=False)


_QUIET = "fourth-order, noise not measured"


def run(config: Config) -> list[Table]:
    suite = dict(list(SUITE.items())[:2]) if config.quick else SUITE
    rows, data = [], {}
    for name, (f, f_mp, points) in suite.items():
        cells, missed, suspects = [], 0, 0
        for label, method in {**METHODS, _QUIET: _without_noise}.items():
            errors, calls, miss = measure(f, f_mp, points, method)
            cells.append(f"{np.median(errors):.0e} / {np.max(errors):.0e} ({calls:.0f})")
            data[f"{name} | {label}"] = {
                "median": float(np.median(errors)),
                "worst": float(np.max(errors)),
                "calls": calls,
                "bound missed": miss,
            }
            if label == _QUIET:
                suspects += miss
            else:
                missed += miss
        rows.append((name, *cells, str(missed), str(suspects)))
    notes = (
        "Each cell: median / worst relative error over all entries and points (mean "
        "function evaluations per point), against mpmath.diff at 40 digits.",
        "bound missed: entries whose reported error bound did not cover the actual error "
        "(the five methods with f's noise measured).",
        "suspects without noise: the same count for the stencil without the noise "
        "measurement; symdl.gradcheck re-checks such entries with the noise measured "
        "before it refutes.",
    )
    title = "symdl's finite differences against an mpmath reference"
    return [
        Table(
            "fd_accuracy",
            title,
            ("function", *METHODS, _QUIET, "bound missed", "suspects without noise"),
            tuple(rows),
            notes,
            data,
        )
    ]


def main() -> None:
    for table in run(Config()):
        print(table.markdown())


if __name__ == "__main__":
    main()
