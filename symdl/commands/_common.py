"""Plumbing shared by the CLI and its command modules: usage errors, printing, NAME=VALUE."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = [
    "ArgumentParser",
    "UsageError",
    "add_shape_options",
    "emit",
    "pairs",
    "shape_options",
]


class UsageError(Exception):
    """Bad command-line usage: printed as one line, exit code 3."""


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that raises :class:`UsageError` instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def emit(text: str = "") -> None:
    """Print to stdout; a reader that went away (``symdl list | head``) is not an error."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet


def pairs(groups: Sequence[Sequence[str]], option: str) -> dict[str, str]:
    """``--shape W=n x n`` arrives as ['W=n', 'x', 'n']: tokens join until the next NAME=."""
    out: dict[str, str] = {}
    for group in groups:
        current: list[str] = []
        for token in group if not isinstance(group, str) else [group]:
            if "=" in token and current:
                _add_pair(out, " ".join(current), option)
                current = []
            current.append(token)
        if current:
            _add_pair(out, " ".join(current), option)
    return out


def _add_pair(out: dict[str, str], text: str, option: str) -> None:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise UsageError(f"symdl: {option} expects NAME=VALUE, got {text!r}")
    out[name.strip()] = value.strip()


_SHAPE_HELP = "declare a shape: W=3x4, x=3 (a column), W=n x m (symbolic)"
_ASSUME_HELP = "positive, negative, nonzero, symmetric, spd, orthogonal, diagonal, probability"


def add_shape_options(
    parser: argparse.ArgumentParser, *, shape_help: str = _SHAPE_HELP, assume: bool = True
) -> None:
    """``--shape NAME=DIMS`` (repeatable) and, with ``assume``, ``--assume NAME=KIND``."""
    parser.add_argument(
        "--shape", action="append", nargs="+", default=[], metavar="NAME=DIMS", help=shape_help
    )
    if assume:
        parser.add_argument(
            "--assume", action="append", default=[], metavar="NAME=KIND", help=_ASSUME_HELP
        )


def shape_options(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str]]:
    """The ``--shape`` and ``--assume`` declarations as mappings (shapes, assumptions)."""
    assume = getattr(args, "assume", [])
    return pairs(args.shape, "--shape"), pairs([[a] for a in assume], "--assume")
