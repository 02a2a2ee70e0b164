"""A benchmark's result: a titled table with notes, stamped with the machine and the date.

Every table the harness writes says where and when it was measured, so a figure copied
into the README keeps its provenance.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Table:
    """Rows of cells under a header; ``notes`` explain the columns and the method."""

    name: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)  # raw figures for the JSON file

    def markdown(self, stamp: dict[str, str] | None = None) -> str:
        lines = [f"### {self.title}", ""]
        if stamp:
            lines += [f"*{stamp['machine']}; {stamp['date']}; peers: {stamp['peers']}*", ""]
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append("|" + "---|" * len(self.header))
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def stamp(peers: dict[str, str]) -> dict[str, str]:
    """Machine, date (UTC) and the versions of the peers that were importable."""
    import numpy
    import scipy

    cores = os.cpu_count() or 0
    machine = (
        f"{cpu_name()}, {cores} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, NumPy {numpy.__version__}, SciPy {scipy.__version__}"
        f", BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}"
    )
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    listed = ", ".join(f"{k} {v}" for k, v in peers.items()) or "none"
    return {"machine": machine, "date": when, "peers": listed}


def write(tables: list[Table], name: str, out: Path, info: dict[str, str]) -> tuple[Path, Path]:
    """Write ``name.json`` and ``name.md`` under ``out``; return both paths."""
    out.mkdir(parents=True, exist_ok=True)
    md = out / f"{name}.md"
    js = out / f"{name}.json"
    md.write_text("\n".join(t.markdown(info) for t in tables))
    payload = {**info, "tables": [asdict(t) for t in tables]}
    js.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return js, md
