"""The ``symdl`` command: the issue's scenarios, exit codes, JSON output, user errors.

Most runs go through :func:`symdl.cli.main` in-process (with ``capsys``); a few go through
``python -m symdl`` in a subprocess to check the real entry point. The CLI must print
what the Python API returns, so several tests compare the two.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symdl
from symdl import check_derivative
from symdl.cli import EXIT_CODES, main

LSQ = ["check", "sum((W @ x - y)**2)", "--wrt", "W"]
RIGHT = ["--claim", "2*(W @ x - y) @ x.T"]
TRANSPOSED = ["--claim", "2*x @ (W @ x - y).T"]
CONCRETE = ["--shape", "W=3x3", "--shape", "x=3x1", "--shape", "y=3x1"]
SYMBOLIC_JOINED = ["--shape", "W=n x n", "--shape", "x=n x 1", "--shape", "y=n x 1"]
SYMBOLIC_SPLIT = [
    "--shape",
    "W=n",
    "x",
    "n",
    "--shape",
    "x=n",
    "x",
    "1",
    "--shape",
    "y=n",
    "x",
    "1",
]
SYMBOLIC_ONE_OPTION = ["--shape", "W=n x n", "x=n x 1", "y=n x 1"]


def run(capsys, argv):
    """``main(argv)`` in-process: (exit code, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's --help and --version exit on their own
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def run_json(capsys, argv):
    code, out, err = run(capsys, [*argv, "--json"])
    return code, json.loads(out), err


def subprocess_run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "symdl", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


# -- the scenarios ---------------------------------------------------------------


def test_sigmoid_is_proved(capsys):
    code, out, err = run(
        capsys, ["check", "sigmoid(x)", "--wrt", "x", "--claim", "sigmoid(x)*(1 - sigmoid(x))"]
    )
    assert code == 0
    assert out.startswith("proved: d/dx sigmoid(x) == ")
    assert err == ""


def test_cli_prints_what_the_api_returns(capsys):
    code, out, _ = run(
        capsys, ["check", "sigmoid(x)", "--wrt", "x", "--claim", "sigmoid(x)*(1 - sigmoid(x))"]
    )
    report = check_derivative("sigmoid(x)", "x", "sigmoid(x)*(1 - sigmoid(x))")
    assert out == str(report) + "\n"
    assert code == EXIT_CODES[report.verdict]


def test_least_squares_with_concrete_shapes_is_proved(capsys):
    code, out, _ = run(capsys, [*LSQ, *RIGHT, *CONCRETE])
    assert code == 0
    assert out.startswith("proved: ")
    _, data, _ = run_json(capsys, [*LSQ, *RIGHT, *CONCRETE])
    symbolic = next(e for e in data["evidence"] if e["method"] == "symbolic")
    assert symbolic["outcome"] == "proved"
    assert symbolic["sizes"] == "W 3×3, x 3×1, y 3×1"


@pytest.mark.parametrize(
    "shapes",
    [SYMBOLIC_JOINED, SYMBOLIC_SPLIT, SYMBOLIC_ONE_OPTION],
    ids=["one-argv-element", "split-elements", "one-option"],
)
def test_least_squares_with_symbolic_shapes_names_the_sizes(capsys, shapes):
    code, out, _ = run(capsys, [*LSQ, *RIGHT, *shapes])
    assert code == 0
    verdict = out.split(":", 1)[0]
    assert verdict in ("proved", "verified")
    assert "n=2: W 2×2, x 2×1, y 2×1" in out
    assert "n=3: W 3×3, x 3×1, y 3×1" in out


def test_least_squares_transposed_is_refuted_and_named(capsys):
    code, out, _ = run(capsys, [*LSQ, *TRANSPOSED, *CONCRETE])
    assert code == 1
    assert out.startswith("refuted: ")
    assert "diagnosis: the claim equals the true gradient transposed" in out
    assert "counterexample:" in out
    assert "worst entries:" in out


def test_least_squares_transposed_with_symbolic_shapes_is_refuted(capsys):
    code, out, _ = run(capsys, [*LSQ, *TRANSPOSED, *SYMBOLIC_JOINED])
    assert code == 1
    assert "the claim equals the true gradient transposed" in out


def test_logdet_inv_is_refuted_at_a_non_symmetric_matrix(capsys):
    code, data, _ = run_json(
        capsys, ["check", "logdet(X)", "--wrt", "X", "--claim", "inv(X)", "--shape", "X=3x3"]
    )
    assert code == 1
    assert data["verdict"] == "refuted"
    X = np.array(data["counterexample"]["X"], dtype=float)
    assert X.shape == (3, 3)
    assert not np.allclose(X, X.T)
    assert np.linalg.det(X) > 0
    assert data["diagnosis"][-1] == "the claim equals the true gradient transposed"


def test_relu_claimed_one_is_refuted_at_a_negative_point(capsys):
    code, data, _ = run_json(capsys, ["check", "relu(x)", "--wrt", "x", "--claim", "1"])
    assert code == 1
    assert data["verdict"] == "refuted"
    assert data["counterexample"]["x"] < 0


def test_relu_heaviside_is_proved_with_the_kink(capsys):
    code, out, _ = run(capsys, ["check", "relu(x)", "--wrt", "x", "--claim", "heaviside(x)"])
    assert code == 0
    assert out.startswith("proved: ")
    assert "kink at x = 0: one-sided derivatives 0 (left), 1 (right)" in out
    code, data, _ = run_json(capsys, ["check", "relu(x)", "--wrt", "x", "--claim", "heaviside(x)"])
    assert data["kinks"] == [
        {"location": "x = 0", "left": 0.0, "right": 1.0, "claimed": 0.5, "inside": True, "at": 0.0}
    ]


def test_code_injection_is_a_parse_error(capsys):
    code, out, err = run(
        capsys, ["check", "__import__('os').system('echo pwned')", "--wrt", "x", "--claim", "0"]
    )
    assert code == 3
    assert "parse error" in err
    assert "pwned" not in out
    assert out == ""


@pytest.mark.parametrize(
    "template",
    [
        "__import__('os').system('touch {path}')",
        '__import__("os").system("touch {path}")',
        "open('{path}', 'w').write('x')",
        "(lambda: __import__('os').system('touch {path}'))()",
        "[c for c in ().__class__.__base__.__subclasses__()]",
        "x.__class__",
    ],
)
def test_nothing_is_executed(capsys, tmp_path, template):
    canary = tmp_path / "canary"
    expr = template.format(path=canary)
    for argv in (
        ["check", expr, "--wrt", "x", "--claim", "0"],
        ["check", "x", "--wrt", "x", "--claim", expr],
        ["check", "x", "--equals", expr],
    ):
        code, out, err = run(capsys, argv)
        assert code == 3, (argv, out, err)
        assert "parse error" in err
    assert not canary.exists()


def test_code_injection_through_the_real_entry_point(tmp_path):
    canary = tmp_path / "canary"
    result = subprocess_run(
        "check", f"__import__('os').system('touch {canary}')", "--wrt", "x", "--claim", "0"
    )
    assert result.returncode == 3
    assert "parse error" in result.stderr
    assert "Traceback" not in result.stderr
    assert not canary.exists()


def test_scenarios_through_the_real_entry_point(tmp_path):
    proved = subprocess_run(
        "check", "sigmoid(x)", "--wrt", "x", "--claim", "sigmoid(x)*(1 - sigmoid(x))"
    )
    assert proved.returncode == 0, proved.stderr
    assert proved.stdout.startswith("proved: ")
    refuted = subprocess_run(*LSQ, *TRANSPOSED, *SYMBOLIC_SPLIT, "--json")
    assert refuted.returncode == 1, refuted.stderr
    data = json.loads(refuted.stdout)
    assert data["verdict"] == "refuted"
    assert "the claim equals the true gradient transposed" in data["diagnosis"]


# -- identities, options -----------------------------------------------------------------


def test_identity_with_equals(capsys):
    code, out, _ = run(capsys, ["check", "tanh(x)", "--equals", "2*sigmoid(2*x) - 1"])
    assert code == 0
    assert out.startswith("proved: tanh(x) == ")
    code, out, _ = run(capsys, ["check", "tanh(x)", "--equals", "2*sigmoid(x) - 1"])
    assert code == 1
    assert out.startswith("refuted: ")


def test_assume_changes_the_verdict(capsys):
    base = ["check", "x.T @ A @ x", "--wrt", "x", "--claim", "2*A @ x"]
    shapes = ["--shape", "A=3x3", "--shape", "x=3"]
    assert run(capsys, [*base, *shapes])[0] == 1
    assert run(capsys, [*base, *shapes, "--assume", "A=symmetric"])[0] == 0


def test_json_output_has_the_documented_keys(capsys):
    code, data, _ = run_json(capsys, [*LSQ, *RIGHT, *CONCRETE])
    assert code == 0
    for key in ("verdict", "method", "evidence", "counterexample", "diagnosis"):
        assert key in data
    assert data["verdict"] == "proved"
    assert data["counterexample"] is None
    assert {e["method"] for e in data["evidence"]} >= {"high-precision", "symbolic"}
    report = check_derivative(
        "sum((W @ x - y)**2)",
        "W",
        "2*(W @ x - y) @ x.T",
        shapes={"W": "3x3", "x": "3x1", "y": "3x1"},
    )
    assert data == json.loads(report.to_json())


def test_seed_points_and_precision_are_passed_through(capsys):
    argv = ["check", "relu(x)", "--wrt", "x", "--claim", "1"]
    _, a, _ = run_json(capsys, [*argv, "--seed", "1", "--points", "3", "--precision", "20"])
    report = check_derivative("relu(x)", "x", "1", seed=1, points=3, precision=20)
    assert a == json.loads(report.to_json())
    assert "mpmath at 20 digits" in a["evidence"][0]["detail"]


def test_undecided_exits_with_2(capsys):
    code, out, _ = run(capsys, ["check", "log(-1 - x**2)", "--wrt", "x", "--claim", "0"])
    assert code == 2
    assert out.startswith("undecided: ")
    assert "admissible" in out


def test_tiny_timeout_never_gives_a_false_proof(capsys):
    code, out, _ = run(
        capsys,
        [
            "check",
            "sum(softmax(W @ x)*y)",
            "--wrt",
            "W",
            "--claim",
            "(softmax(W @ x)*y - softmax(W @ x)*sum(softmax(W @ x)*y)) @ x.T",
            "--shape",
            "W=4x4",
            "--shape",
            "x=4",
            "--shape",
            "y=4",
            "--timeout",
            "0.05",
        ],
    )
    verdict = out.split(":", 1)[0]
    assert verdict in EXIT_CODES, out
    assert code == EXIT_CODES[verdict], out
    assert verdict != "refuted", out  # the claim is true
    if "symbolic: timeout" in out:  # the usual case; a fast machine may finish the proof
        assert verdict in ("verified", "undecided"), out


# -- help, version, user errors ----------------------------------------------------------


def test_help(capsys):
    code, out, _ = run(capsys, ["--help"])
    assert code == 0
    assert "usage: symdl" in out
    assert "exit codes: 0 proved or verified, 1 refuted, 2 undecided" in out
    code, out, _ = run(capsys, ["check", "--help"])
    assert code == 0
    assert "--wrt" in out and "--claim" in out and "--shape" in out and "--assume" in out


def test_version(capsys):
    code, out, _ = run(capsys, ["--version"])
    assert code == 0
    assert out.strip() == f"symdl {symdl.__version__}"


def test_no_command_prints_help_and_is_a_usage_error(capsys):
    code, out, _ = run(capsys, [])
    assert code == 3
    assert "usage: symdl" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["check", "x**2", "--claim", "2*x"], "needs --wrt NAME and --claim EXPR"),
        (["check", "x**2", "--wrt", "x"], "needs --wrt NAME and --claim EXPR"),
        (["check", "x**2", "--equals", "x", "--wrt", "x"], "either --equals or --wrt"),
        (["check", "x", "--wrt", "x", "--claim", "1", "--shape", "W"], "expects NAME=VALUE"),
        (["check", "x", "--wrt", "x", "--claim", "1", "--shape", "W=3y3"], "a shape is ROWSxCOLS"),
        (["check", "x", "--wrt", "x", "--claim", "1", "--shape", "=3x3"], "expects NAME=VALUE"),
        (["check", "x", "--wrt", "x", "--claim", "1", "--assume", "x=weird"], "'weird'"),
        (
            ["check", "x", "--wrt", "x", "--claim", "1", "--assume", "x=postive"],
            "did you mean 'positive'",
        ),
        (["check", "x", "--wrt", "x", "--claim", "1", "--assume", "x"], "expects NAME=VALUE"),
        (["check", "x", "--wrt", "x", "--claim", "1", "--timeout", "soon"], "invalid float"),
        (["check", "x+", "--wrt", "x", "--claim", "1"], "incomplete expression"),
        (["check", "x", "--wrt", "x + 1", "--claim", "1"], "wrt must be the name of a variable"),
        (["check", "x", "--wrt", "x", "--claim", "1", "--points", "0"], "points"),
        (["check", "x", "--wrt", "x", "--claim", "1", "--precision", "5"], "precision"),
        (["check"], "EXPR"),
        (["prove", "/nonexistent/proofs/dir"], "no proofs folder"),
    ],
)
def test_user_errors_exit_3_with_a_message_and_no_traceback(capsys, argv, message):
    code, out, err = run(capsys, argv)
    assert code == 3, (out, err)
    assert message in err
    assert "Traceback" not in err
    assert "internal error" not in err
    assert out == ""


def test_shape_error_in_the_expression(capsys):
    code, _, err = run(
        capsys,
        ["check", "W @ x", "--wrt", "x", "--claim", "W", "--shape", "W=3x2", "--shape", "x=3"],
    )
    assert code == 3
    assert err.startswith("symdl: ")
    assert "Traceback" not in err


# -- prove -------------------------------------------------------------------------------

PROOFS = textwrap.dedent(
    '''
    """Two proofs: one holds, one does not."""

    from symdl import check_derivative, proof


    @proof("Square rule", statement="d/dx x^2 = 2x")
    def square_rule():
        return check_derivative("x**2", "x", "2*x")


    @proof("A wrong rule", statement="d/dx x^2 = x")
    def wrong_rule():
        return check_derivative("x**2", "x", "x")
    '''
)


@pytest.fixture
def proofs_dir(tmp_path):
    folder = tmp_path / "proofs"
    folder.mkdir()
    (folder / "calculus.py").write_text(PROOFS, encoding="utf-8")
    return folder


def test_prove_one_line_per_proof_and_a_failing_exit(capsys, proofs_dir, tmp_path):
    book = tmp_path / "book.md"
    code, out, _ = run(capsys, ["prove", str(proofs_dir), "--out", str(book)])
    assert code == 1
    lines = [line for line in out.splitlines() if line.strip()]
    verdict_lines = [line for line in lines if line.split()[0] in ("proved", "refuted")]
    assert len(verdict_lines) == 2
    assert any(line.startswith("proved") and "Square rule" in line for line in verdict_lines)
    assert any(line.startswith("refuted") and "A wrong rule" in line for line in verdict_lines)
    assert "1 of 2 proofs hold; 1 failed" in out
    assert book.exists()
    text = book.read_text(encoding="utf-8")
    assert "Square rule" in text and "A wrong rule" in text


def test_prove_json_lines(capsys, proofs_dir, tmp_path):
    code, out, _ = run(
        capsys, ["prove", str(proofs_dir), "--out", str(tmp_path / "book.md"), "--json"]
    )
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["proof"], r["verdict"]) for r in rows] == [
        ("square_rule", "proved"),
        ("wrong_rule", "refuted"),
    ]


def test_prove_all_passing_exits_0(capsys, tmp_path):
    folder = tmp_path / "ok"
    folder.mkdir()
    (folder / "one.py").write_text(PROOFS.split('@proof("A wrong')[0], encoding="utf-8")
    code, out, _ = run(capsys, ["prove", str(folder), "--out", str(tmp_path / "b.md")])
    assert code == 0
    assert "1 of 1 proofs hold" in out


def test_prove_an_empty_folder_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, ["prove", str(tmp_path), "--out", str(tmp_path / "b.md")])
    assert code == 3
    assert "no proofs found" in err


def test_a_proof_that_raises_is_reported_not_fatal(capsys, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "broken.py").write_text(
        PROOFS + '\n\n@proof("Broken", statement="raises")\ndef broken():\n    1 / 0\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, ["prove", str(folder), "--out", str(tmp_path / "b.md")])
    assert code == 1
    assert "Traceback" not in out + err
    assert sum(line.startswith("error") for line in out.splitlines()) == 1


def test_check_away_from_kinks(capsys):
    from symdl.cli import USAGE_ERROR

    args = ["check", "heaviside(x)", "--equals", "heaviside(x, 0)"]
    assert main(args) == EXIT_CODES["verified"]
    assert capsys.readouterr().out.startswith("verified")  # not at the kink x = 0
    assert main([*args, "--away-from-kinks"]) == EXIT_CODES["proved"]
    out = capsys.readouterr().out
    assert out.startswith("proved") and "symbolic, away from kinks" in out
    wrong = ["check", "heaviside(x)", "--equals", "heaviside(-x, 0)", "--away-from-kinks"]
    assert main(wrong) == EXIT_CODES["refuted"]
    derivative = ["check", "relu(x)", "--wrt", "x", "--claim", "1", "--away-from-kinks"]
    assert main(derivative) == USAGE_ERROR
    assert "goes with --equals" in capsys.readouterr().err
