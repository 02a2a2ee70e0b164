"""``symdl derive``: a step-by-step derivative with named rules, every step checked.

Exit codes: 0 every step and the final claim proved or verified, 1 a step failed (or the
final claim was refuted), 2 undecided or unchecked (``--no-check``), 3 bad input or usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from symdl.budget import DEFAULT_TIMEOUT
from symdl.commands._common import UsageError, add_shape_options, emit, shape_options

__all__ = ["register"]

_EXIT = {"proved": 0, "verified": 0, "refuted": 1, "undecided": 2, "unchecked": 2}

_EPILOG = """\
examples:
  symdl derive "sigmoid(x)" --wrt x
  symdl derive "x**x" --wrt x --format latex
  symdl derive "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))" --wrt z --format md
  symdl derive "gelu(x)" --wrt x --format html -o gelu.html
  symdl derive "softmax(z)" --wrt z --shape z=n
  symdl derive "sum((W @ x - y)**2)" --wrt W --shape W=3x4 x=4 y=3 --by differentials
"""


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "derive",
        help="a step-by-step derivative with named rules, every step checked",
        description=(
            "Differentiate a scalar expression step by step (sum, product, quotient, chain "
            "rule with 'let u = ...', known derivatives, case-by-case rules with their "
            "kinks), check every step with the verification core, and render it."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expr", metavar="EXPR", help="a scalar expression, NumPy notation")
    parser.add_argument("--wrt", required=True, metavar="NAME", help="the variable")
    add_shape_options(
        parser,
        shape_help="declare a shape (matrices need --by differentials; see also symdl grad)",
        assume=False,
    )
    parser.add_argument(
        "--format",
        choices=["text", "latex", "md", "html"],
        default="text",
        help="text (Unicode, default), latex (standalone document), md, html (self-contained)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument(
        "--by",
        choices=["rules", "differentials"],
        default="rules",
        help="rules: scalar differentiation rules (default); differentials: the gradient by "
        "a vector or matrix variable via dL = tr(G^T dW) (Matrix Cookbook style)",
    )
    parser.add_argument("--no-check", action="store_true", help="derive only (exit code 2)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"time budget of each symbolic step in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (0)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from symdl.derive.steps import derive
    from symdl.errors import ShapeError
    from symdl.parse import parse

    if args.timeout <= 0:
        raise UsageError(f"symdl derive: --timeout must be positive, got {args.timeout:g}")
    if not args.wrt.isidentifier():
        raise UsageError(f"symdl derive: --wrt takes one variable name, got {args.wrt!r}")
    shapes, _ = shape_options(args)
    if args.by == "differentials":
        return _differentials(args, shapes)
    if args.wrt in shapes and "".join(args.expr.split()) == f"softmax({args.wrt})":
        return _softmax(args, shapes[args.wrt])
    expr = parse(args.expr, shapes)
    if args.wrt in shapes and parse(args.wrt, shapes).is_Matrix is not False:
        raise ShapeError(
            f"symdl derive differentiates by a scalar; {args.wrt} has shape {shapes[args.wrt]} "
            "(for matrix gradients use symdl grad)"
        )
    derivation = derive(expr, args.wrt, timeout=args.timeout)
    if not args.no_check:
        derivation = derivation.verify(timeout=args.timeout, seed=args.seed)
    if args.format == "latex":
        out = derivation.latex(standalone=True)
    elif args.format == "md":
        out = derivation.markdown()
    elif args.format == "html":
        out = derivation.html()
    else:
        out = derivation.text()
    return _write(args, out, derivation.verdict)


def _differentials(args: argparse.Namespace, shapes: dict[str, str]) -> int:
    """The gradient by a vector or matrix variable, derived by differentials."""
    from symdl.derive.differentials import derive_by_differentials

    derivation = derive_by_differentials(args.expr, args.wrt, shapes=shapes, timeout=args.timeout)
    if not args.no_check:
        derivation = derivation.verify(timeout=args.timeout, seed=args.seed)
    if args.format == "latex":
        out = derivation.latex(standalone=True)
    elif args.format == "md":
        out = derivation.markdown()
    elif args.format == "html":
        out = derivation.html()
    else:
        out = derivation.text()
    return _write(args, out, derivation.verdict)


def _write(args: argparse.Namespace, out: str, verdict: str) -> int:
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
        emit(f"wrote {args.output} ({verdict})")
    else:
        emit(out)
    return _EXIT[verdict]


def _softmax(args: argparse.Namespace, shape: str) -> int:
    """``softmax(z)`` by ``z``: the Jacobian entry by entry (3 entries when ``z`` is n)."""
    from symdl.derive.steps_softmax import softmax_jacobian

    size = int(shape) if shape.strip().isdigit() else 3
    jac = softmax_jacobian(n=max(2, min(size, 8)))
    if not args.no_check:
        jac = jac.verify(timeout=args.timeout, seed=args.seed)
    if args.format == "latex":
        out = jac.latex(standalone=True)
    elif args.format == "md":
        out = jac.markdown()
    elif args.format == "html":
        out = jac.html()
    else:
        out = jac.text()
    return _write(args, out, jac.verdict)
