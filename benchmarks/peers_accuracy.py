"""Accuracy of numerical gradients against an mpmath reference, symdl and the peers.

Run: ``python -m benchmarks peers_accuracy``. Every method estimates the gradient of the
same NumPy function at the same float64 point (:mod:`benchmarks.accuracy_suite`: every
scalar catalogue activation and loss, dense/conv1d/LSTM layers, logdet, inverse,
softmax); the reference is a 50-digit mpmath evaluation. Relative error per entry is
``|a − b| / max(|a|, |b|, 1e-3·max|∇f|)`` (entries far below the gradient's scale are
judged against that scale). Cells: "median / worst relative error (evaluations of f per
gradient entry)".

The peers' numerical derivatives are called as their checkers call them:
``torch.autograd.gradcheck``'s numerical Jacobian (central differences, its default
``eps=1e-6``), ``jax.test_util.check_grads``' ``numerical_jvp`` along each unit vector
(central differences, its default ``eps=1e-4``), ``numdifftools.Gradient`` (defaults),
and ``scipy.optimize.approx_fprime`` (forward differences, ``h = √ε``, which
``check_grad`` uses).

"symdl fourth-order" is the stencil as :func:`symdl.gradcheck` runs it on every gradient
(``noise=False``: rounding bounded by ulps of the values seen, no call of ``f`` at ``x``);
``gradcheck`` measures ``f``'s noise (9 more calls per argument) only before it refutes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize

from benchmarks import peers
from benchmarks.accuracy_suite import Case, cases, reference
from benchmarks.config import Config
from benchmarks.peers import NOT_INSTALLED
from benchmarks.table import Table
from symdl.errors import UnsupportedError
from symdl.verify.finite import central, complex_step, differences, richardson
from symdl.verify.stencil import fourth_order

Estimate = Callable[[Callable[[np.ndarray], Any], np.ndarray], np.ndarray]


def _symdl(method: Callable[..., Any]) -> Estimate:
    return lambda f, x: method(f, x).value


def _torch() -> Estimate | None:
    torch = peers.torch()
    if torch is None:
        return None
    from torch.autograd.gradcheck import _get_numerical_jacobian

    def estimate(f: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)

        def fn(v: Any) -> Any:
            return torch.as_tensor(np.asarray(f(v.detach().numpy().copy()), dtype=np.float64))

        jacobian = _get_numerical_jacobian(fn, (t,), eps=1e-6)  # gradcheck's default eps
        return np.ravel(jacobian[0][0].numpy())

    return estimate


def _jax() -> Estimate | None:
    jax = peers.jax()
    if jax is None:
        return None
    from jax._src.public_test_util import EPS, numerical_jvp

    def estimate(f: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
        def g(v: Any) -> Any:
            return np.asarray(f(np.asarray(v, dtype=np.float64)))

        units = np.eye(x.size)
        return np.array([float(numerical_jvp(g, (x,), (u,), eps=EPS)) for u in units])

    return estimate


def _numdifftools() -> Estimate | None:
    nd = peers.numdifftools()
    if nd is None:
        return None
    return lambda f, x: np.ravel(nd.Gradient(f)(x))


def _scipy(f: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    return np.asarray(scipy.optimize.approx_fprime(x, lambda v: float(f(v))))


def methods() -> dict[str, Estimate | None]:
    return {
        "symdl central": _symdl(central),
        "symdl fourth-order": lambda f, x: fourth_order(f, x, noise=False).value,
        "symdl richardson": _symdl(richardson),
        "symdl complex step": _symdl(complex_step),
        "symdl auto": _symdl(differences),
        "torch gradcheck (h=1e-6)": _torch(),
        "jax check_grads (h=1e-4)": _jax(),
        "numdifftools": _numdifftools(),
        "scipy approx_fprime": _scipy,
    }


def relative_errors(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    floor = max(1e-3 * float(np.max(np.abs(truth))), 1e-300)
    biggest = np.maximum(np.maximum(np.abs(estimate), np.abs(truth)), floor)
    return np.abs(estimate - truth) / biggest


def measure(case: Case, estimate: Estimate, truth: np.ndarray) -> tuple[np.ndarray, float] | str:
    """Relative errors per entry and evaluations per entry, or why the method failed."""
    calls = [0]

    def f(v: np.ndarray) -> Any:
        calls[0] += 1
        return case.numpy(v)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = estimate(f, case.theta.copy())
    except (UnsupportedError, TypeError, ValueError, FloatingPointError) as err:
        return f"n/a ({type(err).__name__})"
    return relative_errors(np.ravel(value), truth), calls[0] / case.theta.size


_OURS, _TORCH = "symdl fourth-order", "torch gradcheck (h=1e-6)"


def _against_torch(data: dict[str, Any]) -> tuple[str, ...]:
    """symdl fourth-order's accuracy as a multiple of torch gradcheck's, on the same cases."""
    ours, theirs = data.get(f"all | {_OURS}"), data.get(f"all | {_TORCH}")
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return ()
    tiny = 1e-300  # a median of exactly 0 (piecewise-linear cases) would divide by zero
    pairs = [
        (name, data[key], data[f"{name} | {_TORCH}"])
        for key in data
        if key.endswith(f" | {_OURS}") and not key.startswith("all |")
        for name in [key[: -len(f" | {_OURS}")]]
        if isinstance(data[key], dict) and isinstance(data.get(f"{name} | {_TORCH}"), dict)
    ]
    ratios = [t["worst"] / max(o["worst"], tiny) for _, o, t in pairs]
    costs = {name: o["evaluations per entry"] / t["evaluations per entry"] for name, o, t in pairs}
    over = {name: ratio for name, ratio in costs.items() if ratio > 3.0}
    summary = {
        "median ratio": theirs["median"] / max(ours["median"], tiny),
        "worst ratio": theirs["worst"] / max(ours["worst"], tiny),
        "smallest per-function worst ratio": min(ratios) if ratios else float("nan"),
        "evaluations ratio": ours["evaluations per entry"] / theirs["evaluations per entry"],
        "largest per-function evaluations ratio": max(costs.values(), default=float("nan")),
        "functions above 3× torch's evaluations": over,
    }
    above = (
        "on every function at most 3× torch's"
        if not over
        else "above 3× torch's on "
        + ", ".join(f"{name} ({ratio:.2f}×)" for name, ratio in sorted(over.items()))
    )
    data[f"{_OURS} against {_TORCH}"] = summary
    return (
        f"{_OURS} against {_TORCH}, all entries pooled: median error "
        f"{summary['median ratio']:.0f}× smaller, worst error {summary['worst ratio']:.0f}× "
        f"smaller (per function, the worst error is at least "
        f"{summary['smallest per-function worst ratio']:.0f}× smaller), at "
        f"{summary['evaluations ratio']:.2f}× torch's evaluations per entry on average and "
        f"{summary['largest per-function evaluations ratio']:.2f}× at most per function "
        f"({above}).",
    )


def run(config: Config) -> list[Table]:
    suite = cases(quick=config.quick)
    found = methods()
    rows, data = [], {}
    pooled: dict[str, list[np.ndarray]] = {name: [] for name in found}
    evaluations: dict[str, list[float]] = {name: [] for name in found}
    for case in suite:
        truth = reference(case)
        cells = []
        for name, estimate in found.items():
            if estimate is None:
                cells.append(NOT_INSTALLED)
                continue
            got = measure(case, estimate, truth)
            if isinstance(got, str):
                cells.append(got)
                data[f"{case.name} | {name}"] = got
                continue
            errors, per_entry = got
            pooled[name].append(errors)
            evaluations[name].append(per_entry)
            cells.append(f"{np.median(errors):.0e} / {np.max(errors):.0e} ({per_entry:.1f})")
            data[f"{case.name} | {name}"] = {
                "median": float(np.median(errors)),
                "worst": float(np.max(errors)),
                "evaluations per entry": per_entry,
            }
        rows.append((f"{case.name} ({case.theta.size})", *cells))
    summary = []
    for name, estimate in found.items():
        if estimate is None:
            summary.append(NOT_INSTALLED)
        elif not pooled[name]:
            summary.append("n/a")
        else:
            every = np.concatenate(pooled[name])
            summary.append(
                f"**{np.median(every):.0e} / {np.max(every):.0e} "
                f"({np.mean(evaluations[name]):.1f})**"
            )
            data[f"all | {name}"] = {
                "median": float(np.median(every)),
                "worst": float(np.max(every)),
                "evaluations per entry": float(np.mean(evaluations[name])),
                "functions": len(pooled[name]),
            }
    rows.append(("**all entries of every function it handles**", *summary))
    against = _against_torch(data)
    notes = (
        "Cell: median / worst relative error over the gradient's entries (evaluations of f "
        "per gradient entry); the row label gives the number of entries.",
        "Reference: central differences in mpmath at 50 digits, h = 1e-20, checked against "
        "h = 1e-21 (agreement to 1e-25 required).",
        "symdl fourth-order: the stencil as symdl.gradcheck runs it on every gradient "
        "(noise=False: 6 calls per entry, two more per halving of an entry's step, none at "
        "x itself; gradcheck adds one call of f at x to validate it and, under method auto, "
        "one rejected complex-step call on code that is not holomorphic). Measuring f's "
        "rounding noise (ECnoise, symdl.verify.noise), which "
        "gradcheck does only before it refutes, costs 9 calls more per argument (f at x and "
        "8 points), 1.5 per entry on these 6-entry functions; fourth_order's default "
        "(noise=True) and symdl auto (differences' default, as check_derivative runs it) "
        "include it.",
        "n/a (UnsupportedError): complex step on code that is not holomorphic (the "
        "catalogue's stable NumPy code calls scipy.special, piecewise functions use "
        "np.where); symdl auto then falls back to the fourth-order stencil.",
        *against,
    )
    header = ("function (entries)", *found)
    title = "Numerical gradients against an mpmath reference: symdl and the peers"
    return [Table("peers_accuracy", title, header, tuple(rows), notes, data)]
