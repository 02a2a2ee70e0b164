"""The ``symdl`` command: parses arguments, calls the API, prints. Nothing more.

Exit codes: 0 proved or verified, 1 refuted (or a proof that errored), 2 undecided,
3 bad input or usage, 4 an internal error (a bug in symdl; please report it).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from symdl import __version__
from symdl.budget import DEFAULT_TIMEOUT
from symdl.commands._common import ArgumentParser as _Parser
from symdl.commands._common import UsageError as _UsageError
from symdl.commands._common import add_shape_options, shape_options
from symdl.commands._common import emit as _emit
from symdl.errors import ParseError, ShapeError, SymdlError
from symdl.verify import check_derivative, check_identity

__all__ = ["EXIT_CODES", "main"]

EXIT_CODES = {"proved": 0, "verified": 0, "refuted": 1, "undecided": 2}
USAGE_ERROR = 3
INTERNAL_ERROR = 4

_EPILOG = """\
exit codes: 0 proved or verified, 1 refuted, 2 undecided, 3 bad input or usage,
4 internal error.

examples:
  symdl check "sigmoid(x)" --wrt x --claim "sigmoid(x)*(1 - sigmoid(x))"
  symdl check "sum((W @ x - y)**2)" --wrt W --claim "2*(W @ x - y) @ x.T" \\
      --shape W=n x n --shape x=n x 1 --shape y=n x 1
  symdl check "tanh(x)" --equals "2*sigmoid(2*x) - 1"
  symdl prove
  symdl list activations
  symdl show gelu
"""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symdl",
        description="Derive the mathematics of deep learning symbolically and prove it right.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"symdl {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an error, also print the traceback (for bug reports)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser(
        "check",
        help="check a derivative (--wrt/--claim) or an identity (--equals)",
        description="Check a claimed derivative or identity; print the verdict and evidence.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("expr", metavar="EXPR", help="the function (or left side), NumPy notation")
    check.add_argument("--wrt", metavar="NAME", help="the variable to differentiate by")
    check.add_argument("--claim", metavar="EXPR", help="the claimed derivative")
    check.add_argument("--equals", metavar="EXPR", help="check EXPR == this instead")
    check.add_argument(
        "--away-from-kinks",
        action="store_true",
        help="with --equals: claim the identity only where no argument of abs, sign, "
        "maximum, minimum or heaviside is 0 (two derivatives of a kinked function)",
    )
    add_shape_options(check)
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"time budget in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    check.add_argument("--points", type=int, default=8, metavar="N", help="sample points (8)")
    check.add_argument("--precision", type=int, default=30, metavar="D", help="digits (30)")
    check.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (0)")

    listing = commands.add_parser(
        "list",
        help="list the catalogue's activations and losses with their main properties",
        description="A table per registry; every property is established, not typed in.",
    )
    listing.add_argument("kind", nargs="?", choices=["activations", "losses"], help="one registry")

    show = commands.add_parser(
        "show",
        help="everything about one activation or loss",
        description="Formula, derivative, properties with their evidence, LaTeX, NumPy source.",
    )
    show.add_argument("name", metavar="NAME", help="an activation or loss (e.g. gelu, focal)")

    for module in _command_modules():
        module.register(commands)
    return parser


def _command_modules() -> list[ModuleType]:
    """The command modules in ``symdl.commands`` (see its docstring), in name order."""
    import symdl.commands

    names = sorted(
        info.name
        for info in pkgutil.iter_modules(symdl.commands.__path__)
        if not info.name.startswith("_")
    )
    return [importlib.import_module(f"symdl.commands.{name}") for name in names]


def _check(args: argparse.Namespace) -> int:
    shapes, assume = shape_options(args)
    options = dict(
        shapes=shapes,
        assume=assume,
        points=args.points,
        precision=args.precision,
        timeout=args.timeout,
        seed=args.seed,
    )
    if args.equals is not None:
        if args.wrt or args.claim:
            raise _UsageError("symdl check: use either --equals or --wrt with --claim")
        kinks = "excluded" if args.away_from_kinks else "included"
        report = check_identity(args.expr, args.equals, kinks=kinks, **options)  # type: ignore[arg-type]
    else:
        if args.away_from_kinks:
            raise _UsageError("symdl check: --away-from-kinks goes with --equals")
        if not args.wrt or args.claim is None:
            raise _UsageError("symdl check: a derivative check needs --wrt NAME and --claim EXPR")
        report = check_derivative(args.expr, args.wrt, args.claim, **options)
    _emit(report.to_json(indent=2) if args.json else str(report))
    return EXIT_CODES[report.verdict]


def _list(args: argparse.Namespace) -> int:
    from symdl.catalog import show

    if args.kind in (None, "activations"):
        _emit("activations (properties at default parameters, each established with evidence;")
        _emit("'symdl show NAME' gives the evidence):\n")
        _emit(show.activation_table())
    if args.kind in (None, "losses"):
        if args.kind is None:
            _emit()
        _emit("losses:\n")
        _emit(show.loss_table())
    return 0


def _show(args: argparse.Namespace) -> int:
    from symdl.catalog import show

    _emit(show.describe(args.name))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    debug = False
    try:
        args = parser.parse_args(argv)
        debug = args.debug
        if args.command == "check":
            return _check(args)
        if args.command == "list":
            return _list(args)
        if args.command == "show":
            return _show(args)
        if getattr(args, "run", None) is not None:
            return int(args.run(args))
        parser.print_help()
        return USAGE_ERROR
    except _UsageError as err:
        print(str(err), file=sys.stderr)
        print("run 'symdl --help' for usage", file=sys.stderr)
        return USAGE_ERROR
    except ParseError as err:
        return _fail(f"symdl: parse error: {err}", USAGE_ERROR, debug)
    except ShapeError as err:
        return _fail(f"symdl: shape error: {err}", USAGE_ERROR, debug)
    except (SymdlError, ValueError, TypeError, FileNotFoundError) as err:
        return _fail(f"symdl: error: {err}", USAGE_ERROR, debug)
    except KeyboardInterrupt:
        return _fail("symdl: interrupted", 130, debug)
    except Exception as err:  # a bug in symdl: one line, not a traceback
        message = f"symdl: internal error ({type(err).__name__}: {err}); please report it"
        if not debug:
            message += " (run with 'symdl --debug ...' for the traceback)"
        return _fail(message, INTERNAL_ERROR, debug)


def _fail(message: str, code: int, debug: bool) -> int:
    """Print ``message`` (after the traceback, with ``--debug``) and return the exit code."""
    if debug:
        traceback.print_exc()
    print(message, file=sys.stderr)
    return code
