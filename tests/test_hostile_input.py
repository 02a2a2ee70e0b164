"""Hostile text through every entry point that takes text: refused, never executed.

Each line of ``hostile_inputs.txt`` (plus the inputs generated below, which do not fit on
one line of a text file) goes through ``parse``, ``check_identity``, ``check_derivative``,
shape and assumption declarations, the CLI (in-process and as a subprocess) and the proof
runner. Every rejection must be a ``SymdlError`` with a message, and the canary file that
the lines would create if anything ran them must never exist.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import subprocess
import sys
import time
import unicodedata
import warnings
from pathlib import Path

import pytest
import sympy as sp

import symdl
from symdl import (
    ParseError,
    Scope,
    SymdlError,
    UnknownNameError,
    check_derivative,
    check_identity,
    parse,
    parse_shape,
)
from symdl.cli import main
from symdl.parse import LIMITS
from symdl.proofbook import discover, run_proofs

CORPUS_FILE = Path(__file__).resolve().parent / "hostile_inputs.txt"
PLACEHOLDER = "{CANARY}"
CORPUS = [
    line
    for line in CORPUS_FILE.read_text(encoding="utf-8").split("\n")
    if line and not line.startswith("#")
]

# Inputs that cannot sit on one line of a text file, or are too long to read there.
GENERATED = {
    "null byte": "x\x00",
    "null byte before code": "x\x00__import__('os').system('touch {CANARY}')",
    "newline": "x\nimport os",
    "newline then code": "x\n__import__('os').system('touch {CANARY}')",
    "carriage return": "x\r__import__('os')",
    "crlf": "x\r\ny",
    "line separator U+2028": "x\u2028__import__('os')",
    "next line U+0085": "x\u0085y",
    "escape character": "x\x1b[31m",
    "backspace": "x\x08y",
    "long sum": "x+" * 5000 + "x",
    "long name": "x" * (LIMITS["length"] + 1),
    "long whitespace": "x" + " " * 100_000,
    "500-deep parentheses": "(" * 500 + "x" + ")" * 500,
    "500-deep calls": "exp(" * 500 + "x" + ")" * 500,
    "3000 unary minuses": "-" * 3000 + "x",
    "1000 powers": "x" + "**x" * 1000,
    "deep lambda": "(lambda: " * 100 + "open('{CANARY}', 'w')" + ")" * 100,
    "giant digit string": "9" * 3999,
    "digits past the limit": "1" * (LIMITS["digits"] + 1),
    "factorial-like product": "*".join(f"(x-{k})" for k in range(500)),
    "many brackets": "[" * 1000,
    "code after padding": " " * 3000 + "__import__('os').system('touch {CANARY}')",
}
CORPUS_IDS = [f"{i:03d}" for i in range(len(CORPUS))]


def test_corpus_is_large_and_mostly_armed():
    assert len(CORPUS) >= 120
    assert len(set(CORPUS)) == len(CORPUS)
    assert sum(PLACEHOLDER in line for line in CORPUS) >= 60
    assert "\u2212" not in "".join(CORPUS)  # the minus sign U+2212 is allowed


@pytest.fixture(scope="module")
def canary(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "CANARY"
    yield path
    assert not path.exists(), "a hostile input was executed"


def armed(line: str, canary: Path) -> str:
    return line.replace(PLACEHOLDER, str(canary))


def assert_refused(err: BaseException) -> None:
    assert isinstance(err, SymdlError), f"{type(err).__name__}: {err}"
    assert str(err).strip()


def refuses(fn, *args, **kwargs) -> SymdlError:
    """Call ``fn``; it must raise a SymdlError with a message (and nothing else)."""
    try:
        fn(*args, **kwargs)
    except Exception as err:
        assert_refused(err)
        return err  # type: ignore[return-value]
    raise AssertionError(f"{fn.__name__}{args!r} accepted hostile text")


def caret_matches(err: ParseError) -> bool:
    message = str(err)
    if err.col is None or not err.text:
        return True
    caret = message.split("\n")[-1]
    shown = message.split("\n")[-2]
    if len(err.text) > 120:  # long text is shown in a window around the column
        return caret.strip() == "^"
    # one printable character per column: anything unprintable is shown as '?'
    echoed = "".join(c if c.isprintable() else "?" for c in err.text)
    return caret == "  " + " " * err.col + "^" and shown == "  " + echoed


# --- parse and the checks -------------------------------------------------------------


@pytest.mark.parametrize("line", CORPUS, ids=CORPUS_IDS)
def test_parse_refuses(line, canary):
    err = refuses(parse, armed(line, canary), {"W": "3x3"})
    if isinstance(err, ParseError):
        assert caret_matches(err), str(err)
    assert not canary.exists()


@pytest.mark.parametrize("name", list(GENERATED))
def test_parse_refuses_generated(name, canary):
    err = refuses(parse, armed(GENERATED[name], canary))
    assert isinstance(err, ParseError)
    assert caret_matches(err), str(err)[:400]
    assert not canary.exists()


@pytest.mark.parametrize("line", CORPUS, ids=CORPUS_IDS)
def test_checks_refuse(line, canary):
    text = armed(line, canary)
    refuses(check_identity, text, "0")
    refuses(check_identity, "x", text)
    refuses(check_derivative, text, "x", "0")
    refuses(check_derivative, "x", "x", text)
    assert not canary.exists()


@pytest.mark.parametrize("name", list(GENERATED))
def test_checks_refuse_generated(name, canary):
    text = armed(GENERATED[name], canary)
    refuses(check_identity, text, "0")
    refuses(check_derivative, "x", "x", text)
    assert not canary.exists()


@pytest.mark.parametrize("text", ["x\ry", "x\x1b[2Jy", "x\u2028y", "x\x00", "x\x08y"])
def test_error_message_has_no_control_characters(text):
    # the CLI prints the message: '\r' or ESC sequences there rewrite the user's terminal
    message = str(refuses(parse, text))
    assert [c for c in message if c != "\n" and unicodedata.category(c) in ("Cc", "Zl")] == []


# --- shapes and assumptions -----------------------------------------------------------


def _is_dimension(d: object) -> bool:
    return (isinstance(d, int) and d >= 1) or (isinstance(d, sp.Symbol) and d.is_positive)


@pytest.mark.parametrize("line", [*CORPUS, *GENERATED.values()], ids=[*CORPUS_IDS, *GENERATED])
def test_shape_text_is_refused_or_a_plain_shape(line, canary):
    text = armed(line, canary)
    for build in (parse_shape, lambda t: Scope.build({"W": t}).shape("W")):
        try:
            shape = build(text)
        except Exception as err:
            assert_refused(err)
        else:  # e.g. '__class__' is a (harmless) symbolic dimension named __class__
            assert len(shape) in (0, 2) and all(_is_dimension(d) for d in shape)
    assert not canary.exists()


@pytest.mark.parametrize("line", CORPUS, ids=CORPUS_IDS)
def test_hostile_assumption_kind_is_an_unknown_name(line, canary):
    err = refuses(Scope.build, {"W": "3x3"}, {"W": armed(line, canary)})
    assert isinstance(err, UnknownNameError) and "no assumption kind named" in str(err)


@pytest.mark.parametrize("line", CORPUS, ids=CORPUS_IDS)
def test_hostile_shape_name_is_refused_or_a_plain_name(line, canary):
    text = armed(line, canary)
    try:
        scope = Scope.build({text: "3"})
    except Exception as err:
        assert_refused(err)
    else:
        assert text.isidentifier() and text.isascii() and scope.shape(text) == (3, 1)


SAMPLE = CORPUS[::6]


@pytest.mark.parametrize("line", ["__import__('os')", "x.__class__", "x; y", "ｘ"])
def test_hostile_assumption_name_is_refused(line):
    refuses(Scope.build, None, {line: "positive"})


@pytest.mark.parametrize(
    "line", ["__import__('os')", "x.__class__", "x; y", "exp", "ｘ", "True", "lambda: 0"]
)
def test_hostile_wrt_is_refused_with_a_symdl_error(line, canary):
    refuses(check_derivative, "x", armed(line, canary), "0")


@pytest.mark.parametrize(("f", "wrt"), [("2", "x"), ("x", "y")])
def test_derivative_by_an_absent_variable(f, wrt):
    assert check_derivative(f, wrt, "0").verdict == "proved"


# --- the CLI --------------------------------------------------------------------------


@pytest.mark.parametrize("line", SAMPLE)
def test_cli_in_process_refuses(line, canary, capsys):
    text = armed(line, canary)
    runs = [
        ["check", text, "--wrt", "x", "--claim", "0"],
        ["check", "x", "--wrt", "x", "--claim", text],
        ["check", "x", "--equals", text],
        ["check", "x", "--equals", "x", "--assume", f"x={text}"],
    ]
    try:
        parse_shape(text)
    except SymdlError:
        runs.append(["check", "W", "--equals", "W", "--shape", f"W={text}"])
    for argv in runs:
        assert main(argv) == 3, argv
        captured = capsys.readouterr()
        assert captured.err.startswith("symdl: "), captured.err
        assert "Traceback" not in captured.err + captured.out
    assert not canary.exists()


CLI = [sys.executable, "-m", "symdl"]
SUBPROCESS_SAMPLE = [
    "__import__('os').system('touch {CANARY}')",
    "__import__('pathlib').Path('{CANARY}').write_text('pwned')",
    "open('{CANARY}', 'w').write('pwned')",
    "exp.__globals__['__builtins__']['open']('{CANARY}', 'w').write('pwned')",
    "(lambda: open('{CANARY}', 'w'))()",
    "[open('{CANARY}', 'w') for _ in range(1)]",
    'f\'{__import__("os").system("touch {CANARY}")}\'',
    "import os; os.system('touch {CANARY}')",
    "$(touch {CANARY})",
    "\\write18{touch {CANARY}}",
    "ｅｘｐ(x)",
    "x**(10**10)",
]


def test_subprocess_sample_is_in_the_corpus():
    assert set(SUBPROCESS_SAMPLE) <= set(CORPUS)


def test_cli_subprocess_refuses(canary):
    # started together: each run is mostly interpreter and SymPy start-up
    runs = {
        line: subprocess.Popen(
            [*CLI, "check", armed(line, canary), "--wrt", "x", "--claim", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=canary.parent,
        )
        for line in SUBPROCESS_SAMPLE
    }
    problems = []
    for line, run in runs.items():
        try:
            out, err = run.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            run.kill()
            run.communicate()
            problems.append(f"{line!r}: timed out")
            continue
        if run.returncode != 3 or not err.startswith("symdl: ") or "Traceback" in out + err:
            problems.append(f"{line!r}: exit {run.returncode}, stderr {err[:200]!r}")
    assert problems == []
    assert not canary.exists()


# --- the proof runner -----------------------------------------------------------------


def test_proof_runner_reports_hostile_text_as_errors(tmp_path, canary, capsys):
    proofs = tmp_path / "proofs"
    proofs.mkdir()
    lines = [armed(line, canary) for line in SAMPLE]
    body = ["from symdl import check_derivative, check_identity, proof", ""]
    for i, text in enumerate(lines):
        body += [
            f"@proof({f'hostile {i}'!r}, statement={text!r})",
            f"def hostile_{i}():",
            f"    return check_identity({text!r}, '0')",
            "",
            f"@proof({f'hostile claim {i}'!r}, statement='a hostile claim')",
            f"def hostile_claim_{i}():",
            "    right = check_derivative('x**2', 'x', '2*x')",
            f"    return [right, check_derivative('x', 'x', {text!r})]",
            "",
        ]
    (proofs / "hostile.py").write_text("\n".join(body), encoding="utf-8")
    results = run_proofs(discover(proofs))
    assert len(results) == 2 * len(lines)
    for r in results:
        assert r.verdict == "error" and not r.ok, r.proof.title
        kind = r.error.split(":")[0]
        assert issubclass(getattr(symdl, kind), SymdlError), r.error
    out = tmp_path / "book.md"
    assert main(["prove", str(proofs), "--out", str(out)]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert out.read_text(encoding="utf-8").startswith("# The symdl proof book")
    assert not canary.exists()


# --- resource adversaries -------------------------------------------------------------

GUARD = 30.0  # seconds; a generous wall clock, not a timing assertion


@pytest.mark.parametrize(
    "text",
    [
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
    ],
)
def test_resource_adversary_gets_a_verdict_or_a_clear_error(text):
    start = time.monotonic()
    try:
        report = check_identity(text, "0", timeout=5)
    except Exception as err:
        assert_refused(err)
    else:
        assert report.verdict in ("proved", "verified", "refuted", "undecided")
    assert time.monotonic() - start < GUARD


def test_long_hex_literal_is_refused():
    refuses(parse, "0x" + "f" * 3990)


def _parse_in_child(text: str) -> None:
    with contextlib.suppress(SymdlError):
        parse(text)


@pytest.mark.parametrize("text", ["1e-99999999", "0e99999999"])
def test_huge_float_exponent_parses_quickly(text):
    # run where it can be stopped: the big-integer power cannot be interrupted in-process
    child = multiprocessing.get_context("fork").Process(target=_parse_in_child, args=(text,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, Python ≥ 3.12
        child.start()
    child.join(3)  # parsing an 11-character literal takes milliseconds
    finished = not child.is_alive()
    if not finished:
        child.kill()
        child.join()
    assert finished and child.exitcode == 0
