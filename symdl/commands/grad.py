"""``symdl grad``: the gradient of a scalar expression in matrix notation, checked.

Exit codes follow ``symdl check``: 0 proved or verified, 1 refuted, 2 undecided, 3 bad
input or usage.
"""

from __future__ import annotations

import argparse
import json

from symdl.budget import DEFAULT_TIMEOUT
from symdl.commands._common import UsageError, add_shape_options, emit, shape_options

__all__ = ["register"]

_EXIT = {"proved": 0, "verified": 0, "refuted": 1, "undecided": 2}

_EPILOG = """\
examples:
  symdl grad "sum((W @ x + b - y)**2)" --wrt W,b --shape W=m x n --shape x=n \\
      --shape b=m --shape y=m
  symdl grad "logdet(X)" --wrt X --shape X=n x n --format latex
  symdl grad "-sum(y * log_softmax(W @ x + b))" --wrt W --shape W=m x n --shape x=n \\
      --shape b=m --shape y=m --assume y=probability --format numpy
"""


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "grad",
        help="the gradient of a scalar expression in matrix notation, checked",
        description=(
            "Differentiate a scalar expression by reverse mode in matrix notation "
            "(denominator layout), name the shared subexpressions, and check every "
            "gradient before calling it proved."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expr", metavar="EXPR", help="a scalar expression, NumPy notation")
    parser.add_argument(
        "--wrt", required=True, metavar="NAME[,NAME...]", help="the variables to differentiate by"
    )
    add_shape_options(parser)
    parser.add_argument(
        "--format",
        choices=["text", "latex", "numpy", "json"],
        default="text",
        help="how to print the result (default text)",
    )
    parser.add_argument("--no-check", action="store_true", help="derive only (verdict undecided)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"time budget of the check in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (0)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from symdl.derive.matrix import matrix_gradient

    if args.timeout <= 0:
        raise UsageError(f"symdl grad: --timeout must be positive, got {args.timeout:g}")
    shapes, assume = shape_options(args)
    result = matrix_gradient(
        args.expr,
        args.wrt,
        shapes=shapes,
        assume=assume,
        check=not args.no_check,
        timeout=args.timeout,
        seed=args.seed,
    )
    if args.format == "json":
        emit(json.dumps(result.to_dict(), indent=2, default=str))
    elif args.format == "latex":
        emit(result.latex())
    elif args.format == "numpy":
        emit(result.code.source)
    else:
        emit(result.text())
        emit()
        emit(str(result.report))
    return _EXIT[result.verdict]
