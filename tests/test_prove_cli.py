"""``symdl prove``: the summary table, the report folder, options and exit codes."""

import json
import textwrap
from pathlib import Path

import pytest

from symdl.cli import main
from symdl.proofbook import discover, run_proofs

PROOFS = Path(__file__).resolve().parent.parent / "proofs"

FALSE = """
from symdl import check_identity, proof

@proof("false <b>claim</b>", statement="1 = 2 <script>alert(1)</script>")
def false():
    return check_identity("a + 1", "a + 2")

@proof("true", statement="a = a", tags=["keep"])
def true():
    return check_identity("a", "a")
"""


def folder_with(tmp_path, body=FALSE):
    folder = tmp_path / "proofs"
    folder.mkdir()
    (folder / "one.py").write_text(textwrap.dedent(body))
    return folder


def prove(tmp_path, *args):
    return main(["prove", *args, "-o", str(tmp_path / "report"), "--cache", str(tmp_path / "c")])


def test_refuted_book_exits_1_with_table_report_and_progress(tmp_path, capsys):
    folder = folder_with(tmp_path)
    out = tmp_path / "legacy.md"
    assert prove(tmp_path, str(folder), "--out", str(out), "--jobs", "2") == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["verdict", "seconds", "proof"]
    assert lines[1].startswith("refuted") and lines[2].startswith("proved")
    assert (
        "1 of 2 proofs hold; 1 failed, 0 undecided. 2 proofs: 1 proved, 1 refuted." in captured.out
    )
    assert "[1/2]" in captured.err and "[2/2]" in captured.err
    report = tmp_path / "report"
    assert sorted(p.name for p in report.iterdir()) == ["book.md", "book.tex", "index.html"]
    assert out.read_text() == (report / "book.md").read_text()
    assert (report / "book.md").read_text().startswith("# The symdl proof book")
    html = (report / "index.html").read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "http://" not in html and "https://" not in html
    assert 'class="badge refuted"' in html


def test_selection_json_and_exit_0(tmp_path, capsys):
    folder = folder_with(tmp_path)
    assert prove(tmp_path, str(folder), "-k", "keep", "--json", "--format", "md") == 0
    (line,) = capsys.readouterr().out.splitlines()
    data = json.loads(line)
    assert (data["proof"], data["verdict"], data["cached"]) == ("true", "proved", False)
    assert [p.name for p in (tmp_path / "report").iterdir()] == ["book.md"]
    assert prove(tmp_path, str(folder), "-k", "keep", "--json") == 0
    assert json.loads(capsys.readouterr().out)["cached"] is True


def test_undecided_exits_2(tmp_path, capsys):
    folder = folder_with(
        tmp_path,
        """
        import time
        from symdl import check_identity, proof

        @proof("slow", statement="sleeps")
        def slow():
            time.sleep(60)
            return check_identity("a", "a")
        """,
    )
    assert prove(tmp_path, str(folder), "--timeout", "0.5", "--no-cache") == 2
    out = capsys.readouterr().out
    assert "undecided" in out and "time budget" in out


def test_usage_errors_exit_3(tmp_path, capsys):
    folder = folder_with(tmp_path)
    assert prove(tmp_path, str(tmp_path / "nope")) == 3
    assert prove(tmp_path, str(folder), "-k", "no-such-proof") == 3
    assert prove(tmp_path, str(folder), "--format", "docx") == 3
    assert prove(tmp_path, str(folder), "--jobs", "0") == 3
    assert prove(tmp_path, str(folder), "--timeout", "-1") == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no proofs found" in err and "'docx'" in err
    assert not (tmp_path / "report").exists()


def test_no_temporary_files_are_left_in_the_report(tmp_path, capsys):
    folder = folder_with(tmp_path)
    prove(tmp_path, str(folder))
    assert not [p for p in (tmp_path / "report").iterdir() if p.name.startswith(".")]


def test_the_table_shows_what_the_api_returns(tmp_path, capsys):
    folder = folder_with(tmp_path)
    results = run_proofs(discover(folder))
    prove(tmp_path, str(folder), "--no-cache")
    lines = capsys.readouterr().out.splitlines()[1:3]
    assert [line.split()[0] for line in lines] == [r.verdict for r in results]


MINE = [
    "activations",
    "architectures",
    "generative",
    "linear_algebra",
    "losses",
    "neurons",
    "optimisation",
    "probability",
    "regularisation",
]


def check_book(tmp_path, capsys, topics):
    files = [str(PROOFS / f"{topic}.py") for topic in topics]
    assert prove(tmp_path, *files, "--no-cache", "--jobs", "2") == 0
    table = capsys.readouterr().out.split("\n\n")[0].splitlines()[1:]
    assert {line.split()[0] for line in table} <= {"proved", "verified"}
    html = (tmp_path / "report" / "index.html").read_text()
    assert html.count('class="proof"') == len(table)
    return table


def test_shipped_topics_hold(tmp_path, capsys):
    assert len(check_book(tmp_path, capsys, ["probability", "generative"])) >= 10


@pytest.mark.slow
def test_every_shipped_topic_of_the_runner_holds(tmp_path, capsys):
    assert len(check_book(tmp_path, capsys, MINE)) >= 60


def test_out_alone_writes_only_the_markdown_book(tmp_path, capsys, monkeypatch):
    folder = folder_with(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "book.md"
    assert main(["prove", str(folder), "--out", str(out), "--no-cache"]) == 1
    assert out.read_text().startswith("# The symdl proof book")
    assert not (tmp_path / "symdl-report").exists()
    assert capsys.readouterr().out.splitlines()[-1] == f"Report: {out}"


def test_progress_on_a_terminal_is_one_line_with_a_bar(monkeypatch):
    import io

    from symdl.commands import prove as command
    from symdl.proofbook import Proof, ProofResult

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    p = Proof("t", "s", lambda: [], topic="a", name="b")
    command._progress(ProofResult(p, "proved", seconds=0.5), 3, 10)
    command._progress(ProofResult(p, "verified", cached=True), 10, 10)
    text = terminal.getvalue()
    assert text.count("\n") == 1 and text.endswith("(cached)\n")
    assert "[######..............] [ 3/10] proved" in text
    assert "[####################] [10/10] verified" in text
