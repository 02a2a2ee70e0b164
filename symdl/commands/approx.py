"""``symdl approx``: build a network within ε of a function, with a certified bound.

``symdl approx "sin(3*x)" --on -1,1 --eps 1e-3 --activation relu|sigmoid|deep|NAME``
prints the construction, the network's size, the bound (``proved`` by interval or exact
arithmetic, or ``estimated``) and the observed sup error; ``--json`` prints the whole
certificate with the exact weights; ``--plot FILE`` draws f, f_n and the error with the
bound. A target in ``x`` and ``y`` is interpolated by a ReLU network on the square
``[A, B]²`` (a triangulation). Exit code 0 when the bound is proved, 2 when it is only
estimated, 1 when the check contradicts it.
"""

from __future__ import annotations

import argparse
import re

from symdl.commands._common import UsageError, emit

__all__ = ["register"]

_EPILOG = """\
examples:
  symdl approx "sin(x)" --on 0,pi --eps 1e-3                 # ReLU interpolation
  symdl approx "sin(3*x)" --on -1,1 --eps 1e-3 --activation sigmoid
  symdl approx "exp(x)" --on 0,1 --eps 1e-6 --activation deep --plot exp.png
  symdl approx "x**2" --on 0,1 --eps 0.01 --activation tanh --json
  symdl approx "x*y" --on 0,1 --eps 0.01                      # on [0, 1]², ReLU
"""

#: Option values such as ``-1,1`` or ``-pi,pi`` are values, not options.
_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-[^,\s]*,")


def register(commands: argparse._SubParsersAction) -> None:
    approx = commands.add_parser(
        "approx",
        help="build a network within ε of f, with a certified error bound",
        description=(
            "Universal approximation, constructively: a network within EPS of EXPR on an "
            "interval, with the bound proved (interval or exact arithmetic) or estimated, "
            "and checked on a dense grid and in high precision."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    approx._negative_number_matcher = _NEGATIVE  # type: ignore[attr-defined]
    approx.add_argument(
        "expr", metavar="EXPR", help="the target f(x) or f(x, y), in the input language"
    )
    approx.add_argument(
        "--on", required=True, metavar="A,B", help="the interval, e.g. -1,1 or 0,pi"
    )
    approx.add_argument("--eps", required=True, type=float, help="the target sup error")
    approx.add_argument(
        "--activation",
        default="relu",
        metavar="NAME",
        help="relu (default), deep, or a bounded sigmoidal catalogue activation (sigmoid, tanh, …)",
    )
    approx.add_argument("--plot", metavar="FILE", help="write a picture of f, f_n and the error")
    approx.add_argument("--json", action="store_true", help="print the certificate as JSON")
    approx.add_argument("--points", type=int, default=None, help="dense-grid points for the check")
    approx.add_argument("--seed", type=int, default=0, help="seed of the random check points")
    approx.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from symdl.derive.approximation import approximate

    ends = [v.strip() for v in args.on.split(",")]
    if len(ends) != 2 or not all(ends):
        raise UsageError(f"symdl approx: --on expects A,B, got {args.on!r}")
    if args.points is not None and args.points < 2:
        raise UsageError(f"symdl approx: --points must be at least 2, got {args.points}")
    result = approximate(
        args.expr,
        (ends[0], ends[1]),
        eps=args.eps,
        activation=args.activation,
        points=args.points,
        seed=args.seed,
    )
    if args.plot:
        from symdl.render.approximation_plot import plot_approximation

        plot_approximation(result, args.plot)
    emit(result.to_json(indent=2) if args.json else str(result))
    if args.plot and not args.json:
        emit(f"  plot: {args.plot}")
    return {"proved": 0, "estimated": 2}.get(result.verdict, 1)
