"""``symdl prove``: run the proof book and write the report.

Discovers the proofs in PATHS (folders or files; default ``./proofs``), runs them in a
pool of workers with a time budget each, reuses cached results of unchanged proofs,
reports progress on stderr, prints a summary table on stdout and writes the report
(``book.md``, ``index.html``, ``book.tex``; the figures the proofs draw are inlined in
``index.html`` and written to ``figures/`` for the other two) into ``-o DIR`` (default
``symdl-report``); ``--out PATH`` writes the Markdown book to PATH, and alone (without
``-o``) only that. ``--dask ADDRESS`` runs the proofs on a dask.distributed cluster
(:mod:`symdl.proofbook.distributed`). Exit code 1 when a proof is refuted or raised, 2
when one is undecided (its budget ran out), 0 when all hold; 3 for bad usage, and for
``--dask`` without dask installed or with a scheduler out of reach.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from symdl.commands._common import UsageError, emit
from symdl.proofbook import (
    ProofResult,
    ResultCache,
    default_cache_dir,
    default_jobs,
    discover,
    run_proofs,
    select,
)
from symdl.render.report_figures import figure_files
from symdl.render.report_html import render_html
from symdl.render.report_latex import render_latex
from symdl.render.report_markdown import render_markdown, summary

__all__ = ["DEFAULT_PROOF_TIMEOUT", "register"]

#: Seconds one proof may take before it is stopped and recorded as undecided.
DEFAULT_PROOF_TIMEOUT = 120.0
_FORMATS = {
    "md": ("book.md", render_markdown),
    "html": ("index.html", render_html),
    "tex": ("book.tex", render_latex),
}
#: Seconds one pdfLaTeX pass may take.
_LATEX_TIMEOUT = 120.0

_EPILOG = """\
examples:
  symdl prove                          # ./proofs → symdl-report/{index.html,book.md}
  symdl prove proofs/losses.py -k softmax --jobs 1
  symdl prove --no-cache --timeout 30 -o /tmp/report --format md
  symdl prove --dask tcp://scheduler:8786   # on a dask.distributed cluster

--dask: each proof is sent with its file's source, so the workers need symdl (and, for
the figures, matplotlib) installed, not the proofs folder. Each worker thread runs the
proofs in a helper Python process it starts once (a daemonic, nanny-started worker may
not fork; the helper may), under the same per-proof budget as the local pool, so any
worker will do. Needs pip install 'dask[distributed]'.
"""


def register(commands: argparse._SubParsersAction) -> None:
    prove = commands.add_parser(
        "prove",
        help="run the proof book and write its report",
        description="Run the proofs in a pool of workers, print a summary, write the report.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prove.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="proofs folders or .py files (default: ./proofs)",
    )
    prove.add_argument(
        "-k",
        dest="pattern",
        metavar="PATTERN",
        help="only proofs whose topic::name, title or a tag contains PATTERN",
    )
    prove.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help=f"proofs run at once (default: all cores, here {default_jobs()})",
    )
    prove.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_PROOF_TIMEOUT,
        metavar="S",
        help=f"time budget per proof in seconds (default {DEFAULT_PROOF_TIMEOUT:g})",
    )
    prove.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="report folder (default: symdl-report, unless only --out is given)",
    )
    prove.add_argument(
        "--format",
        default="html,md,tex",
        metavar="LIST",
        help="report formats, comma-separated: html, md, tex, pdf (book.tex compiled with "
        "pdflatex, which must be on PATH) (default: html,md,tex)",
    )
    prove.add_argument(
        "--out",
        metavar="PATH",
        help="write the Markdown book to PATH (alone: no report folder)",
    )
    prove.add_argument(
        "--cache",
        metavar="DIR",
        help=f"result cache folder (default: {default_cache_dir()})",
    )
    prove.add_argument("--no-cache", action="store_true", help="run every proof afresh")
    prove.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the proofs on the dask.distributed scheduler at ADDRESS "
        "(e.g. tcp://host:8786) instead of local workers; --jobs is then unused",
    )
    prove.add_argument("--json", action="store_true", help="print the results as JSON lines")
    prove.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = sorted(set(formats) - {*_FORMATS, "pdf"})
    if unknown:
        raise UsageError(
            f"symdl prove: unknown format {unknown[0]!r}; formats are html, md, tex, pdf"
        )
    latex = shutil.which("pdflatex")
    if "pdf" in formats and latex is None:
        raise UsageError("symdl prove: --format pdf needs pdflatex on PATH")
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        raise UsageError(f"symdl prove: --jobs must be at least 1, got {jobs}")
    if not args.timeout > 0:
        raise UsageError(f"symdl prove: --timeout must be positive, got {args.timeout:g}")
    paths = args.paths or ["proofs"]
    proofs = discover(*paths)
    if args.pattern is not None:
        proofs = select(proofs, args.pattern)
    if not proofs:
        where = ", ".join(paths) + (f" matching {args.pattern!r}" if args.pattern else "")
        raise UsageError(f"symdl prove: no proofs found in {where}")
    cache = None
    if not args.no_cache:
        cache = ResultCache(Path(args.cache) if args.cache else default_cache_dir())
    start = time.perf_counter()
    results = run_proofs(
        proofs, jobs=jobs, timeout=args.timeout, cache=cache, progress=_progress, dask=args.dask
    )
    wall = time.perf_counter() - start
    if args.json:
        for r in results:
            emit(json.dumps(_as_json(r)))
    else:
        _table(results)
    written: list[Path] = []
    pictures: set[Path] = set()
    if args.output is not None or args.out is None:
        folder = Path(args.output or "symdl-report")
        written = [
            _write(folder / _FORMATS[f][0], _FORMATS[f][1](results))
            for f in formats
            if f in _FORMATS
        ]
        if {"md", "tex"} & set(formats):
            pictures.update(_figures(folder, results))
        if "pdf" in formats and latex is not None:
            written += _pdf(latex, render_latex(results), folder / "book.pdf", results)
    if args.out:
        written.append(_write(Path(args.out), render_markdown(results)))
        pictures.update(_figures(Path(args.out).parent, results))
    failed = sum(r.verdict in ("refuted", "error") for r in results)
    undecided = sum(r.verdict == "undecided" for r in results)
    if not args.json:
        emit(
            f"\n{len(results) - failed - undecided} of {len(results)} proofs hold; "
            f"{failed} failed, {undecided} undecided. {summary(results)}"
        )
        cached = sum(r.cached for r in results)
        where = f"on the dask cluster at {args.dask}" if args.dask else f"with {jobs} jobs"
        emit(f"Wall time {wall:.1f} s {where}; {cached} results from the cache.")
        folders = ", ".join(sorted({str(p.parent) for p in pictures}))
        figures = "figure" if len(pictures) == 1 else "figures"
        drawn = f" and {len(pictures)} {figures} in {folders}" if pictures else ""
        emit(f"Report: {', '.join(str(w) for w in written)}{drawn}")
    return 1 if failed else 2 if undecided else 0


def _progress(result: ProofResult, done: int, total: int) -> None:
    width = len(str(total))
    source = "cached" if result.cached else f"{result.seconds:.2f} s"
    line = f"[{done:>{width}}/{total}] {result.verdict:<9} {result.proof.key} ({source})"
    try:
        if sys.stderr.isatty():
            filled = round(20 * done / total)
            bar = "#" * filled + "." * (20 - filled)
            end = "\n" if done == total else ""
            sys.stderr.write(f"\r\033[K[{bar}] {line}{end}")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


def _table(results: Sequence[ProofResult]) -> None:
    emit(f"{'verdict':<9}  {'seconds':>7}  proof")
    for r in results:
        extra = f"  ({r.error or r.note})" if r.error or r.note else ""
        seconds = "cached" if r.cached else f"{r.seconds:.2f}"
        emit(f"{r.verdict:<9}  {seconds:>7}  {r.proof.topic}: {r.proof.title}{extra}")


def _as_json(r: ProofResult) -> dict[str, object]:
    return {
        "topic": r.proof.topic,
        "proof": r.proof.name,
        "title": r.proof.title,
        "verdict": r.verdict,
        "seconds": round(r.seconds, 3),
        "cached": r.cached,
        "error": r.error,
        "note": r.note,
    }


def _write(path: Path, text: str | bytes) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place, so
    an interrupted run never leaves a partial report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _figures(folder: Path, results: Sequence[ProofResult]) -> list[Path]:
    """The figures' PNG files that book.md and book.tex link to, under ``folder``."""
    return [_write(folder / name, png) for name, png in figure_files(results).items()]


def _pdf(latex: str, tex: str, path: Path, results: Sequence[ProofResult]) -> list[Path]:
    """Compile ``tex`` with pdfLaTeX (twice, for the contents) in a scratch folder, with
    the figures beside it, and move the PDF into place; a failure is reported on stderr
    and writes nothing."""
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "book.tex").write_text(tex, encoding="utf-8")
        for name, png in figure_files(results).items():
            (Path(scratch) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(scratch) / name).write_bytes(png)
        command = [latex, "-interaction=nonstopmode", "-halt-on-error", "book.tex"]
        for _ in range(2):
            try:
                done = subprocess.run(
                    command,
                    cwd=scratch,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=_LATEX_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                print(f"symdl prove: pdflatex took over {_LATEX_TIMEOUT:g} s", file=sys.stderr)
                return []
            if done.returncode != 0:
                log = done.stdout.decode("utf-8", "replace").splitlines()
                errors = [line for line in log if line.startswith("!")][:3]
                print(f"symdl prove: pdflatex failed: {' '.join(errors)}", file=sys.stderr)
                return []
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        shutil.move(str(Path(scratch) / "book.pdf"), tmp)
        os.replace(tmp, path)
    return [path]
