"""Plumbing shared by the CLI and its command modules: usage errors, printing, NAME=VALUE."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["ArgumentParser", "UsageError", "emit", "pairs"]


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
