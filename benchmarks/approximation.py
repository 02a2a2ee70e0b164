"""Approximation constructions: size, certified bound and observed error, side by side.

Run: ``python -m benchmarks.approximation [--quick] [--plot FILE]``. Prints Markdown tables:

1. ``sin(3x)`` on [−1, 1] at several ε for the shallow ReLU interpolant, the sigmoid
   staircase and the deep (piecewise-quadratic, Yarotsky) ReLU network: hidden neurons,
   nonzero parameters, the certified bound, the sup error observed on the dense grid, how
   loose the bound is (bound / observed) and the seconds to build and check.
2. Yarotsky's f_m: exact error 2^(−2m−2) against the observed one, and the seconds the
   exact proof takes; Telgarsky's sawtooth: pieces counted exactly.

``--plot FILE`` draws error against neurons, log–log, for the three constructions.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from symdl.derive.approximation import (
    ConvergencePoint,
    approximate,
    telgarsky_sawtooth,
    yarotsky_square,
)

TARGET, ON = "sin(3*x)", ("-1", "1")
#: ε values per construction; the staircase needs 7,500 neurons at 10⁻³ already.
EPS = {
    "relu": (1e-1, 1e-2, 1e-3, 1e-4, 1e-5),
    "sigmoid": (1e-1, 3e-2, 1e-2, 3e-3, 1e-3),
    "deep": (1e-1, 1e-2, 1e-3, 1e-4, 1e-5),
}
QUICK = {"relu": (1e-1, 1e-2), "sigmoid": (1e-1,), "deep": (1e-1, 1e-2)}


def sizes_table(quick: bool) -> tuple[str, list[ConvergencePoint]]:
    header = ("construction", "ε", "neurons", "nonzero parameters", "bound", "observed")
    header += ("bound / observed", "seconds")
    rows = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    series = []
    for activation, eps_values in (QUICK if quick else EPS).items():
        for eps in eps_values:
            start = time.perf_counter()
            r = approximate(TARGET, ON, eps=eps, activation=activation)
            seconds = time.perf_counter() - start
            series.append(
                ConvergencePoint(activation, eps, r.neurons, r.bound, r.observed, r.status)
            )
            rows.append(
                f"| {activation} | {eps:g} | {r.neurons} | {r.network.nonzero} | "
                f"{r.bound:.3g} ({r.status}) | {r.observed:.3g} | {r.bound / r.observed:.2f} | "
                f"{seconds:.1f} |"
            )
    return "\n".join(rows), series


def deep_table(quick: bool) -> str:
    rows = [
        "| m | neurons | exact sup error | observed | proof (s) | k | pieces of g_k | proof (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    top = 3 if quick else 10
    for i in range(1, top + 1):
        cells = ["", "", "", "", ""]
        if i <= (3 if quick else 8):
            start = time.perf_counter()
            r = yarotsky_square(i)
            cells = [
                str(i),
                str(r.neurons),
                str(r.exact_error),
                f"{r.observed:.4g}",
                f"{time.perf_counter() - start:.2f}",
            ]
        start = time.perf_counter()
        saw = telgarsky_sawtooth(i)
        cells += [str(i), f"{saw.count} ({saw.verdict})", f"{time.perf_counter() - start:.2f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.approximation")
    parser.add_argument("--quick", action="store_true", help="two ε per construction")
    parser.add_argument("--plot", metavar="FILE", help="error against neurons, log–log")
    args = parser.parse_args(argv)
    table, series = sizes_table(args.quick)
    print(f"### {TARGET} on [{ON[0]}, {ON[1]}]\n\n{table}\n")
    print(f"### Deep constructions, proved exactly\n\n{deep_table(args.quick)}\n")
    if args.plot:
        from symdl.render.approximation_plot import plot_convergence

        plot_convergence(series, args.plot, title=f"{TARGET} on [{ON[0]}, {ON[1]}]")
        print(f"figure: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
