"""Figures in the proof book: records that survive the pool and the cache, embedded in the
HTML, linked from the Markdown and LaTeX books, and a visible note without matplotlib."""

import base64
import pickle
import re
import shutil
import struct
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from symdl.cli import main
from symdl.proofbook import Figure, Proof, ProofResult, ResultCache, discover, run_proofs
from symdl.proofbook.figure import PNG_SIGNATURE
from symdl.render.report_figures import figure_files, figure_path
from symdl.render.report_html import render_html
from symdl.render.report_latex import render_latex
from symdl.render.report_markdown import render_markdown

PROOFS = Path(__file__).resolve().parent.parent / "proofs"


def png(width=2, height=1):
    """A valid PNG file of a grey image, made without matplotlib (PNG spec., §5, §11)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + (chunk(b"IEND", b""))
    )


BOOK = '''
"""Pictures."""

from symdl import check_identity, proof
from symdl.proofbook import Figure

PNG = {png!r}


@proof("With a picture", statement="a = a")
def pictured():
    return [
        check_identity("a", "a"),
        Figure("Tiny <b>grey</b> [image]", "A caption with 50% & <script>x</script>", png=PNG),
        Figure("Missing picture", "not here", note="not drawn: for the test"),
    ]


@proof("Only a picture", statement="nothing is claimed")
def only_a_picture():
    return Figure("alone", png=PNG)


@proof("Drawn by a plotter", statement="a + 0 = a")
def plotted():
    from symdl.derive.variance import propagate
    from symdl.render.variance_plot import plot_variance

    profile = propagate("relu", depth=3, sigma_w2=2.0)
    return [
        check_identity("a + 0", "a"),
        Figure.draw("ReLU variance", lambda path: plot_variance([profile], path), caption="c"),
    ]
'''


def book(tmp_path, name="pictures.py"):
    folder = tmp_path / "proofs"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(BOOK.format(png=png())))
    return folder


# -- the record ------------------------------------------------------------------------


def test_a_figure_is_checked_and_pickles():
    fig = Figure("t", "c", png=png())
    assert fig.drawn and pickle.loads(pickle.dumps(fig)) == fig
    with pytest.raises(ValueError, match="title"):
        Figure(" ", png=png())
    with pytest.raises(ValueError, match="PNG signature"):
        Figure("t", png=b"<svg onload=alert(1)>")
    with pytest.raises(ValueError, match="note"):
        Figure("t")
    with pytest.raises(TypeError):
        Figure("t", png="not bytes")  # type: ignore[arg-type]


def test_draw_without_matplotlib_gives_a_note_and_calls_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    called = []
    fig = Figure.draw("t", called.append, caption="c")
    assert not fig.drawn and not called
    assert "matplotlib is not installed" in fig.note and "symdl[plot]" in fig.note


def test_draw_records_a_failing_plotter_or_a_non_png():
    pytest.importorskip("matplotlib")

    def broken(path):
        raise RuntimeError("no data")

    assert Figure.draw("t", broken).note == "not drawn: RuntimeError: no data"
    assert "did not write a PNG" in Figure.draw("t", lambda p: p.write_bytes(b"GIF89a")).note
    assert Figure.draw("t", lambda p: p.write_bytes(png())).png == png()


# -- the runner and the cache ----------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_figures_come_back_from_the_pool(tmp_path, jobs):
    pytest.importorskip("matplotlib")
    results = run_proofs(discover(book(tmp_path)), jobs=jobs, timeout=60)
    by_name = {r.proof.name: r for r in results}
    pictured = by_name["pictured"]
    assert pictured.verdict == "proved" and len(pictured.reports) == 1
    assert [f.title for f in pictured.figures] == ["Tiny <b>grey</b> [image]", "Missing picture"]
    assert pictured.figures[0].png == png()
    alone = by_name["only_a_picture"]
    assert alone.verdict == "error" and "(with any Figure it draws)" in alone.error
    (drawn,) = by_name["plotted"].figures
    assert drawn.png.startswith(PNG_SIGNATURE) and len(drawn.png) > 1000


def test_the_cache_keeps_figures(tmp_path):
    (pictured,) = [p for p in discover(book(tmp_path)) if p.name == "pictured"]
    cache = ResultCache(tmp_path / "cache")
    (first,) = run_proofs([pictured], cache=cache)
    (again,) = run_proofs([pictured], cache=cache)
    assert again.cached and again.figures == first.figures
    entry = next((tmp_path / "cache").glob("*.json")).read_text()
    assert base64.b64encode(png()).decode() in entry


# -- the report ------------------------------------------------------------------------


def pictured_results():
    p = Proof("Pictured <i>", "s", lambda: [], topic="topic one", name="pictured")
    figures = (
        Figure("Tiny <b>grey</b> [image]", "50% & <script>x</script>", png=png()),
        Figure("Missing picture", "not here", note="not drawn: for the test"),
    )
    return [ProofResult(p, "proved", figures=figures)]


def test_html_embeds_the_png_and_escapes_the_text():
    html = render_html(pictured_results())
    (data,) = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', html)
    assert base64.b64decode(data) == png()
    assert "Tiny &lt;b&gt;grey&lt;/b&gt; [image]" in html and "<script>x" not in html
    assert "Missing picture.</b> not here Figure not drawn: for the test" in html
    for fetch in ("<link", 'src="http', "url(http", "@import"):
        assert fetch not in html


def test_markdown_and_latex_link_the_files_the_writer_writes():
    results = pictured_results()
    name = figure_path(results[0], 1)
    assert re.fullmatch(r"figures/topic-one-pictured-[0-9a-f]{8}-1\.png", name)
    assert figure_files(results) == {name: png()}  # the undrawn figure has no file
    text = render_markdown(results)
    assert f"![Tiny &lt;b&gt;grey&lt;/b&gt; \\[image\\]]({name})" in text
    assert "not drawn: for the test" in text and "<script>" not in text
    tex = render_latex(results)
    assert r"\usepackage{graphicx}" in tex and f"]{{{name}}}" in tex
    assert r"50\% \& \textless{}script\textgreater{}" in tex
    assert "not drawn: for the test" in tex and tex.isascii()


def test_figure_names_are_distinct_for_keys_that_look_alike():
    a = ProofResult(Proof("a", "s", lambda: [], topic="a_b", name="c"), "proved")
    b = ProofResult(Proof("b", "s", lambda: [], topic="a-b", name="c"), "proved")
    assert figure_path(a, 1) != figure_path(b, 1)
    assert re.fullmatch(r"[a-z0-9/.-]+", figure_path(a, 1))


def test_the_cli_writes_the_figures_and_reuses_them_warm(tmp_path, capsys):
    folder = book(tmp_path)
    out, cache = tmp_path / "report", tmp_path / "cache"
    args = ["prove", str(folder), "-k", "pictured", "-o", str(out), "--cache", str(cache)]
    assert main(args) == 0
    first = {p.name: p.read_bytes() for p in (out / "figures").iterdir()}
    shutil.rmtree(out)
    assert main(args) == 0
    out_text = capsys.readouterr().out
    assert "1 results from the cache" in out_text and f"and 1 figure in {out}/figures" in out_text
    assert {p.name: p.read_bytes() for p in (out / "figures").iterdir()} == first
    assert list(first.values()) == [png()]
    markdown = (out / "book.md").read_text()
    for link in re.findall(r"!\[[^\]]*(?:\\\][^\]]*)*\]\(([^)]+)\)", markdown):
        assert (out / link).is_file()
    for link in re.findall(
        r"\\includegraphics\[[^\]]*\]\{([^}]+)\}", (out / "book.tex").read_text()
    ):
        assert (out / link).is_file()
    assert "data:image/png;base64," in (out / "index.html").read_text()


def test_out_alone_writes_the_figures_beside_the_markdown(tmp_path):
    folder = book(tmp_path)
    target = tmp_path / "elsewhere" / "book.md"
    assert main(["prove", str(folder), "-k", "pictured", "--out", str(target), "--no-cache"]) == 0
    (link,) = re.findall(r"\]\((figures/[^)]+)\)", target.read_text())
    assert (target.parent / link).read_bytes() == png()


def test_without_matplotlib_the_report_is_written_with_notes(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    folder = book(tmp_path)
    out = tmp_path / "report"
    code = main(["prove", str(folder), "-k", "plotted", "-o", str(out), "--no-cache"])
    assert code == 0
    note = "not drawn: matplotlib is not installed"
    for name in ("index.html", "book.md", "book.tex"):
        assert note in (out / name).read_text(), name
    assert not (out / "figures").exists()
    assert "figure" not in capsys.readouterr().out.split("Report:")[1]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex on PATH")
def test_the_pdf_with_figures_compiles(tmp_path, capsys):
    folder = book(tmp_path)
    out = tmp_path / "report"
    code = main(["prove", str(folder), "-k", "pictured", "-o", str(out), "--format", "pdf"])
    assert code == 0
    assert (out / "book.pdf").read_bytes().startswith(b"%PDF")
    assert "pdflatex failed" not in capsys.readouterr().err


# -- the shipped proofs ----------------------------------------------------------------


@pytest.mark.slow
def test_the_variance_and_approximation_proofs_attach_their_plots():
    pytest.importorskip("matplotlib")
    wanted = {
        "initialisation::variance_through_depth": "Variance through depth",
        "approximation::relu_sin": "ReLU interpolation of sin",
        "approximation::staircase": "Sigmoid staircase for sin",
    }
    proofs = [p for p in discover(PROOFS) if p.key in wanted]
    results = run_proofs(proofs, jobs=2, timeout=120)
    assert {r.proof.key for r in results} == set(wanted)
    for r in results:
        assert r.ok, (r.proof.key, r.verdict, r.error, r.note)
        (fig,) = r.figures
        assert fig.title == wanted[r.proof.key] and fig.caption
        assert fig.png.startswith(PNG_SIGNATURE) and len(fig.png) > 10_000
    (variance,) = [r for r in results if r.proof.name == "variance_through_depth"]
    claims = {rep.claim: rep.verdict for rep in variance.reports}
    assert claims["the simulation rejects LeCun's prediction for He-initialised ReLU networks"] == (
        "verified"
    )


def test_the_variance_proof_would_be_refuted_by_a_wrong_prediction(tmp_path):
    """The check the proof relies on has power: the same simulation with a prediction off
    by a factor 2 (LeCun's σ_w² = 1 instead of He's 2) is refuted by the proof's helper."""
    source = (PROOFS / "initialisation.py").read_text()
    (tmp_path / "initialisation.py").write_text(
        source.replace(
            'sim_he = simulate("relu", sigma_w2=2.0, prediction=he_relu',
            'sim_he = simulate("relu", sigma_w2=2.0, prediction=lecun_relu',
        )
    )
    (p,) = [p for p in discover(tmp_path) if p.name == "variance_through_depth"]
    (r,) = run_proofs([p])
    assert r.verdict == "refuted"
    (bad,) = [rep for rep in r.reports if not rep.ok]
    assert bad.claim == "simulated He-initialised ReLU networks match the prediction"
    assert bad.diagnosis and "interval" in bad.diagnosis[0]


def test_report_type_is_unchanged_for_proofs_without_figures():
    r = ProofResult(Proof("t", "s", lambda: [], topic="x", name="y"), "proved")
    assert r.figures == () and "<figure" not in render_html([r])
    assert "includegraphics" not in render_latex([r]) and "![" not in render_markdown([r])
