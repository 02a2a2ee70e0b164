"""``symdl backprop``: the forward equations, the δ recursion and every parameter gradient of a
network described in text, as equations or as generated NumPy code, optionally checked.

Exit codes: 0 derived (and, with ``--check``, every check verified), 1 a check refuted,
2 a check undecided, 3 bad input or usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from symdl.commands._common import UsageError, emit

__all__ = ["register"]

_EXIT = {"proved": 0, "verified": 0, "refuted": 1, "undecided": 2}

_EPILOG = """\
examples:
  symdl backprop "dense(784,128) | relu | dense(128,10) | softmax_cross_entropy"
  symdl backprop "dense(4,3) | tanh | dense(3,2) | mse" --check
  symdl backprop "dense(8,8) | residual(dense(8,8) | tanh) | dense(8,3)" --loss mse
  symdl backprop "dense(784,128) | relu | dense(128,10) | softmax_cross_entropy" --format numpy
  symdl backprop "dense(4,3) | sigmoid | dense(3,1) | mse" --format html -o net.html

layers: symdl backprop --list
"""


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "backprop",
        help="forward equations, δ recursion and parameter gradients of a network",
        description=(
            "Derive the backward pass of a network given as layers joined by '|' "
            "(input(...) first to fix the input shape, residual(...) for y = x + F(x)): "
            "the forward equations, the backward equations in reverse order, the δ "
            "recursion, and the generated NumPy forward and backward functions."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("network", metavar="NETWORK", nargs="?", help="the network, in text")
    parser.add_argument(
        "--format",
        choices=["text", "latex", "md", "html", "numpy"],
        default="text",
        help="text (Unicode, default), latex (standalone document), md, html (self-contained), "
        "numpy (the generated module)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--loss", metavar="NAME", help="append this loss to the network")
    parser.add_argument(
        "--check",
        action="store_true",
        help="check every block rule and the generated code (exit 1 refuted, 2 undecided)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (0)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="budget of each symbolic check"
    )
    parser.add_argument("--list", action="store_true", help="list the layer kinds and exit")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from symdl.derive.backprop import backprop

    if args.list:
        return _list()
    if args.network is None:
        raise UsageError(
            'symdl backprop: give a NETWORK, e.g. "dense(4,3) | relu | dense(3,2) | mse"'
        )
    if args.timeout <= 0:
        raise UsageError(f"symdl backprop: --timeout must be positive, got {args.timeout:g}")
    res = backprop(args.network, loss=args.loss)
    check = res.check(seed=args.seed, timeout=args.timeout) if args.check else None
    if args.format == "numpy":
        out = res.source
    elif args.format == "latex":
        out = res.latex(check, standalone=True)
    elif args.format == "md":
        out = res.markdown(check)
    elif args.format == "html":
        out = res.html(check)
    else:
        out = res.text(check)
    verdict = check.verdict if check is not None else "verified"
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
        emit(f"wrote {args.output}" + (f" ({verdict})" if check is not None else ""))
    else:
        emit(out.rstrip("\n"))
        if check is not None and args.format == "numpy":
            emit("\n".join("# " + line for line in str(check).splitlines()))
    return _EXIT[verdict]


def _list() -> int:
    from symdl.derive.layers import LAYERS

    for kind in LAYERS:
        emit(f"{kind.signature:<36} {kind.doc}")
    return 0
