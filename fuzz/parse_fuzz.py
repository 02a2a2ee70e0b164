"""Coverage-guided fuzzing of the input-language parser with atheris (libFuzzer).

    python -m pip install -e ".[fuzz]"
    python fuzz/parse_fuzz.py -atheris_runs=200000      # or -max_total_time=600
    python fuzz/parse_fuzz.py fuzz/corpus               # grow a saved corpus

Every input must either parse to a SymPy object or raise a :class:`symdl.SymdlError`; any
other exception, and any side effect (the canary file below appearing), is a crash that
libFuzzer reports with the input that caused it. Add each crash to
``tests/hostile_inputs.txt`` or to the parser's tests as a regression test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from symdl import SymdlError, parse, to_text

#: Declared shapes the fuzzer's text may use: matrices, vectors and scalars.
SHAPES = {"A": "3x3", "B": "3x3", "W": "2x3", "u": "3", "v": "3"}
CANARY = Path("/tmp/symdl-fuzz-canary")


def test_one_input(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(400)
    try:
        expr = parse(text, SHAPES)
    except SymdlError:
        return
    # what parses must print back as text the parser takes (round trip, issue-2 property)
    try:
        parse(to_text(expr), SHAPES)
    except SymdlError as err:
        raise AssertionError(f"{text!r} parsed, but its printed form does not: {err}") from err
    if CANARY.exists():
        raise AssertionError(f"{text!r} created the canary file {CANARY}")


def main() -> None:
    CANARY.unlink(missing_ok=True)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
