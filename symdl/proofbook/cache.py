"""A cache of proof results, keyed by the content of the proof's file and of symdl.

A result is reusable when nothing it depends on changed: the proof's file, the shared
``_*.py`` modules beside it, every source file of symdl, and the versions of Python, of
the libraries symdl computes with and of matplotlib (or its absence), which draws the
figures. Only decisive results (``proved``, ``verified``,
``refuted``) are stored: an ``undecided`` or an ``error`` may depend on the machine's
load or the time budget, so it is run again. Step-by-step derivations are kept as their
rendered records, figures as their PNG bytes (base64) or the note that replaces them.
Entries are JSON files written atomically (a temporary file renamed into place), so an
interrupted run never leaves half an entry.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import scipy
import sympy as sp

from symdl.proofbook.book import DerivationRecord, Proof, ProofResult
from symdl.proofbook.figure import Figure
from symdl.verify.report import Entry, Evidence, Kink, Report

__all__ = ["ResultCache", "default_cache_dir"]

_DECISIVE = ("proved", "verified", "refuted")
_FORMAT = "3"
_TIMINGS = "timings.json"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/symdl/proofs``, or ``~/.cache/symdl/proofs``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "symdl" / "proofs"


@dataclass(frozen=True)
class ResultCache:
    """Proof results stored under ``directory``; see the module docstring for the key."""

    directory: Path

    def key(self, proof: Proof) -> str | None:
        """The cache key of ``proof``, or None when it has no file (it is then not cached)."""
        if not proof.path:
            return None
        path = Path(proof.path)
        digest = hashlib.sha256()
        for part in (_FORMAT, _environment(), proof.key, _file_digest(path)):
            digest.update(part.encode() + b"\0")
        for shared in sorted(path.parent.glob("_*.py")):
            digest.update(_file_digest(shared).encode() + b"\0")
        return digest.hexdigest()

    def load(self, proof: Proof) -> ProofResult | None:
        """The stored result of ``proof``, or None (no entry, or one that does not decode)."""
        key = self.key(proof)
        if key is None:
            return None
        try:
            data = json.loads((self.directory / f"{key}.json").read_text(encoding="utf-8"))
            reports = tuple(_report(r) for r in data["reports"])
            derivations = tuple(DerivationRecord(**d) for d in data["derivations"])
            figures = tuple(_figure(f) for f in data["figures"])
            return ProofResult(
                proof,
                data["verdict"],
                reports,
                seconds=float(data["seconds"]),
                cached=True,
                derivations=derivations,
                figures=figures,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, result: ProofResult) -> None:
        """Keep ``result`` if it is decisive; written to a temporary file, then renamed."""
        key = self.key(result.proof)
        if key is None or result.verdict not in _DECISIVE:
            return
        data = {
            "proof": result.proof.key,
            "verdict": result.verdict,
            "seconds": result.seconds,
            "reports": [json.loads(r.to_json()) for r in result.reports],
            "derivations": [asdict(d) for d in result.derivations],
            "figures": [
                {**asdict(f), "png": base64.b64encode(f.png).decode("ascii")}
                for f in result.figures
            ],
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.directory / f"{key}.json", json.dumps(data))

    def timings(self) -> dict[str, float]:
        """Seconds each proof (by ``topic::name``) took when it last ran, whatever its
        content then: a hint for scheduling, never a result."""
        try:
            data = json.loads((self.directory / _TIMINGS).read_text(encoding="utf-8"))
            return {str(k): float(v) for k, v in data.items()}
        except (OSError, ValueError, AttributeError, TypeError):
            return {}

    def record_timings(self, results: Sequence[ProofResult]) -> None:
        """Remember how long the proofs that ran (not those read from the cache) took."""
        fresh = {r.proof.key: r.seconds for r in results if not r.cached}
        if not fresh:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.directory / _TIMINGS, json.dumps({**self.timings(), **fresh}))


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _report(data: dict[str, Any]) -> Report:
    return Report(
        verdict=data["verdict"],
        claim=data["claim"],
        method=data["method"],
        evidence=tuple(Evidence(**e) for e in data["evidence"]),
        counterexample=data["counterexample"],
        entries=tuple(Entry(**{**e, "index": tuple(e["index"])}) for e in data["entries"]),
        diagnosis=tuple(data["diagnosis"]),
        kinks=tuple(Kink(**k) for k in data["kinks"]),
        notes=tuple(data["notes"]),
        difference=data["difference"],
    )


def _figure(data: dict[str, Any]) -> Figure:
    png = base64.b64decode(data["png"], validate=True)
    return Figure(data["title"], data["caption"], png=png, note=data["note"])


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


@functools.cache
def _environment() -> str:
    """A digest of symdl's sources and the versions of what it computes with."""
    digest = hashlib.sha256()
    versions = (platform.python_version(), sp.__version__, np.__version__)
    try:
        plotting = importlib.metadata.version("matplotlib")
    except importlib.metadata.PackageNotFoundError:
        plotting = "no matplotlib"
    for part in (*versions, scipy.__version__, mpmath.__version__, plotting):
        digest.update(part.encode() + b"\0")
    root = Path(__file__).resolve().parent.parent
    for source in sorted(root.rglob("*.py")):
        digest.update(str(source.relative_to(root)).encode() + b"\0")
        digest.update(source.read_bytes() + b"\0")
    return digest.hexdigest()
