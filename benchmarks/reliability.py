"""Reliability figures for the README: hostile text, adversarial inputs, time budgets.

    python benchmarks/reliability.py

* Hostile inputs: every line of ``tests/hostile_inputs.txt`` (plus long and deeply nested
  generated ones) through ``parse``, ``check_derivative`` and the CLI in-process; each must
  be refused with a :class:`symdl.SymdlError` (exit code 3 from the CLI), and the canary
  file the armed lines would create must never appear.
* Adversarial inputs: text that makes naive symbolic work explode, checked with the
  default time budget; the longest wall time any took is reported beside the budget.

The soundness corpus has its own script (``benchmarks/soundness.py``), and so does the
coverage-guided parser fuzzer (``fuzz/parse_fuzz.py``).
"""

from __future__ import annotations

import contextlib
import io
import platform
import sys
import tempfile
import time
from pathlib import Path

from symdl import SymdlError, check_derivative, check_identity, parse
from symdl.budget import DEFAULT_TIMEOUT
from symdl.cli import main as cli

CORPUS_FILE = Path(__file__).resolve().parent.parent / "tests" / "hostile_inputs.txt"

GENERATED = [
    "x+" * 5000 + "x",
    "(" * 500 + "x" + ")" * 500,
    "exp(" * 500 + "x" + ")" * 500,
    "-" * 3000 + "x",
    "x" + "**x" * 1000,
    "(lambda: " * 100 + "open('{CANARY}', 'w')" + ")" * 100,
    "9" * 3999,
    "x\x00__import__('os').system('touch {CANARY}')",
    "x\n__import__('os').system('touch {CANARY}')",
    " " * 3000 + "__import__('os').system('touch {CANARY}')",
]

ADVERSARIAL = [
    "x**(10**10)",
    "2**(10**10)",
    "9**9**9**9",
    "exp(exp(exp(exp(x))))",
    "x**1000",
    "exp(x)**1000",
    "log(log(log(log(x))))",
    "sigmoid(10**59*x)",
    "sin(10**59*x)",
    "2**1000*x",
    "*".join(f"(x-{k})" for k in range(400)),
    "tanh(" * 55 + "x" + ")" * 55,
]


def hostile(canary: Path) -> tuple[int, int, int]:
    """(inputs, refusals through every entry point, executions)."""
    lines = [
        line
        for line in CORPUS_FILE.read_text(encoding="utf-8").split("\n")
        if line and not line.startswith("#")
    ]
    texts = [t.replace("{CANARY}", str(canary)) for t in [*lines, *GENERATED]]
    refused = 0
    for text in texts:
        ok = True
        for fn, args in (
            (parse, (text,)),
            (check_derivative, (text, "x", "0")),
            (check_derivative, ("x", "x", text)),
        ):
            try:
                fn(*args)
                ok = False
            except SymdlError:
                pass
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            ok = ok and cli(["check", text, "--wrt", "x", "--claim", "0"]) == 3
        refused += ok
    return len(texts), refused, int(canary.exists())


def adversarial() -> list[tuple[str, str, float]]:
    out = []
    for text in ADVERSARIAL:
        start = time.monotonic()
        try:
            result = check_identity(text, "0").verdict
        except SymdlError as err:
            result = f"refused ({type(err).__name__})"
        out.append((text if len(text) < 40 else text[:37] + "…", result, time.monotonic() - start))
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        n, refused, executed = hostile(Path(tmp) / "CANARY")
    rows = adversarial()
    print(
        f"reliability — {platform.node()} ({platform.machine()}), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}\n"
    )
    print(
        f"hostile inputs: {n} tried through parse, check_derivative (both sides) and the "
        f"CLI; {refused} refused everywhere; executions: {executed}\n"
    )
    print(f"| adversarial input | outcome | seconds (budget {DEFAULT_TIMEOUT:g} s) |")
    print("|---|---|---|")
    for text, result, seconds in rows:
        print(f"| `{text}` | {result} | {seconds:.2f} |")
    print(f"\nlongest: {max(s for _, _, s in rows):.2f} s")
    return 0 if executed == 0 and refused == n else 1


if __name__ == "__main__":
    sys.exit(main())
