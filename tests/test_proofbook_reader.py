"""The proof book checked the way a reader meets it: index.html rendered in headless
Chromium (the math typeset, the index and one long proof as screenshots that are not
blank) and book.pdf's pages as images. Each check skips, visibly, without its tool."""

from __future__ import annotations

import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from symdl.cli import main

PROOFS = Path(__file__).resolve().parent.parent / "proofs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]
#: a proof with a step-by-step derivation (a long page of typeset math)
LONG_PROOF = "activations-sigmoid-derivative"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    formats = "html,md,tex,pdf" if shutil.which("pdflatex") else "html,md,tex"
    code = main(
        [
            "prove",
            str(PROOFS / "activations.py"),
            "-k",
            "sigmoid",
            "--no-cache",
            "-o",
            str(out),
            "--format",
            formats,
        ]
    )
    assert code == 0
    return out


def _shot(page: str, path: Path) -> bytes:
    subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            "--hide-scrollbars",
            f"--screenshot={path}",
            "--window-size=1200,1600",
            page,
        ],
        capture_output=True,
        timeout=180,
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_index_renders_its_math_and_its_screenshots_are_not_blank(report, tmp_path):
    index = (report / "index.html").as_uri()
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, "--dump-dom", index], capture_output=True, text=True, timeout=180
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'class="katex' in dom.stdout  # KaTeX ran
    assert 'class="katex-error"' not in dom.stdout  # and met no math it could not parse
    assert f'id="{LONG_PROOF}"' in dom.stdout
    whole = _shot(index, tmp_path / "index.png")
    one = _shot(f"{index}#only={LONG_PROOF}", tmp_path / "proof.png")
    # a blank page compresses to a few hundred bytes; text, tables and math do not
    assert len(zlib.compress(whole)) > 20_000
    assert len(zlib.compress(one)) > 20_000
    assert whole != one  # the second shows the proof alone, from its title down


@pytest.mark.skipif(
    not (shutil.which("pdflatex") and shutil.which("pdftoppm")),
    reason="pdflatex or pdftoppm (poppler-utils) is not installed",
)
def test_the_pdf_pages_are_not_blank(report, tmp_path):
    pdf = report / "book.pdf"
    assert pdf.stat().st_size > 10_000
    done = subprocess.run(
        ["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")],
        capture_output=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    for page in pages:
        assert len(zlib.compress(page.read_bytes())) > 3_000, page.name
