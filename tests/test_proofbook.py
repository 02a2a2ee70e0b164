"""The proof runner: discovery, verdict aggregation, errors, the report, the CLI."""

import textwrap
from pathlib import Path

from symdl.cli import main
from symdl.proofbook import discover, render_markdown, run_proofs

PROOFS = Path(__file__).resolve().parent.parent / "proofs"


def write(tmp_path, name, body):
    (tmp_path / name).write_text(textwrap.dedent(body))


def test_shipped_proofs_all_hold():
    results = run_proofs(discover(PROOFS))
    assert len(results) >= 10
    assert [r.proof.title for r in results if not r.ok] == []


def test_failures_and_errors_are_reported_not_raised(tmp_path):
    write(
        tmp_path,
        "sample.py",
        """
        from symdl import check_derivative, proof

        @proof("right", statement="d/dx x^2 = 2x")
        def right():
            return check_derivative("x**2", "x", "2*x")

        @proof("wrong", statement="d/dx x^2 = x")
        def wrong():
            return [check_derivative("x**2", "x", "2*x"), check_derivative("x**2", "x", "x")]

        @proof("broken", statement="raises")
        def broken():
            raise RuntimeError("oops")

        def not_a_proof():
            return None
        """,
    )
    results = {r.proof.name: r for r in run_proofs(discover(tmp_path))}
    assert set(results) == {"right", "wrong", "broken"}
    assert results["right"].verdict == "proved"
    assert results["wrong"].verdict == "refuted"
    assert results["broken"].verdict == "error" and "oops" in results["broken"].error
    text = render_markdown(list(results.values()))
    assert "# The symdl proof book" in text and "**refuted**" in text and "oops" in text


def test_cli_prove_writes_the_report_and_exits_nonzero_on_failure(tmp_path, capsys):
    write(
        tmp_path,
        "one.py",
        """
        from symdl import check_identity, proof

        @proof("false", statement="1 = 2")
        def false():
            return check_identity("a + 1", "a + 2")
        """,
    )
    out = tmp_path / "book.md"
    assert main(["prove", str(tmp_path), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("refuted")
    assert out.read_text().startswith("# The symdl proof book")


def test_cli_prove_on_the_shipped_proofs(tmp_path, capsys):
    out = tmp_path / "book.md"
    assert main(["prove", str(PROOFS), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.split()[0] in ("proved", "verified") for line in lines if line and ":" in line)


def test_missing_folder_is_a_usage_error(tmp_path, capsys):
    assert main(["prove", str(tmp_path / "nope")]) == 3
    assert "Traceback" not in capsys.readouterr().err
