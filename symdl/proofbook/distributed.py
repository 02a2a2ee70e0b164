"""Run the proof book on a dask.distributed cluster (``symdl prove --dask ADDRESS``).

Each proof travels as a :class:`ProofUnit`: its file's source (and the shared ``_*.py``
modules beside it), the proof's name and its time budget, so the workers need symdl
installed but not the proofs folder. On the worker, :func:`run_unit` hands the unit to
the worker thread's helper process (:mod:`symdl.proofbook.unit_process`), which runs it
exactly as the local pool does: :func:`~symdl.proofbook.runner.run_proofs` with the
budget, in a forked child in its own process group, killed with everything it started
when the budget runs out.

Why a helper process: the budget — the per-proof one and the one inside each symbolic
check (:mod:`symdl.budget`) — forks, and a dask worker can do neither safely. Under a
nanny the worker is a daemonic process, which :mod:`multiprocessing` forbids to have
children ("daemonic processes are not allowed to have children"); and forking the worker
itself, with its event-loop and executor threads, risks a child that deadlocks on a lock
held by a thread that did not come along. The helper is started with ``subprocess``: a
new interpreter (no inherited threads or locks, not daemonic), so the budget works
unchanged on any worker, with or without a nanny. It imports symdl once and then serves
unit after unit, so a proof costs no interpreter start.

dask is optional: it is imported only here, only when a cluster is asked for.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symdl.errors import SymdlError
from symdl.proofbook.book import Proof, ProofResult, discover
from symdl.proofbook.runner import failure, result_of, run_proofs
from symdl.proofbook.unit_process import GRACE, HelperLost, run_in_helper

__all__ = ["ProofUnit", "run_on_dask", "run_unit"]

_MISSING = "symdl prove --dask needs dask.distributed: pip install 'dask[distributed]'"


@dataclass(frozen=True)
class ProofUnit:
    """One proof as a worker receives it: the source of its file (``filename`` →
    ``source``) and of the shared modules beside it, the proof's function ``name``, and
    its time budget in seconds (None: no budget)."""

    key: str
    name: str
    filename: str
    source: bytes
    shared: tuple[tuple[str, bytes], ...] = ()
    timeout: float | None = None

    @classmethod
    def of(cls, proof: Proof, timeout: float | None) -> ProofUnit:
        """The unit of a proof discovered in a file."""
        if not proof.path:
            raise ValueError(
                f"{proof.key} was not discovered in a file; only those run on a dask cluster"
            )
        path = Path(proof.path)
        shared = tuple((p.name, p.read_bytes()) for p in sorted(path.parent.glob("_*.py")))
        return cls(proof.key, proof.name, path.name, path.read_bytes(), shared, timeout)


#: What a unit gives back: the runner's outcome, the seconds it took and its note.
Answer = tuple[Any, float, str]


def run_unit(unit: ProofUnit) -> Answer:
    """Run ``unit`` in this thread's helper process (see the module docstring) and return
    its answer; this is the function the dask workers call."""
    limit = None if unit.timeout is None else unit.timeout + GRACE
    start = time.perf_counter()
    try:
        result: Answer = run_in_helper(unit, limit)
        return result
    except HelperLost as err:
        seconds = time.perf_counter() - start
        if str(err) == "timeout":
            note = f"the proof outlived its budget of {unit.timeout:g} s by {GRACE:g} s; "
            return ("undecided", (), (), (), ""), seconds, note + "its process was killed"
        return failure(str(err)), seconds, ""


def answer(unit: ProofUnit) -> Answer:
    """What the helper process does with a unit: write its sources to a scratch folder,
    discover the proof there, and run it with the local runner under its budget."""
    with tempfile.TemporaryDirectory(prefix="symdl-unit-") as folder:
        for name, source in ((unit.filename, unit.source), *unit.shared):
            (Path(folder) / name).write_bytes(source)
        found = [p for p in discover(Path(folder) / unit.filename) if p.name == unit.name]
        if not found:
            return failure(f"no proof {unit.key} in the file sent"), 0.0, ""
        (r,) = run_proofs(found[:1], jobs=1, timeout=unit.timeout)
        return (r.verdict, r.reports, r.derivations, r.figures, r.error), r.seconds, r.note


def run_on_dask(
    proofs: Sequence[Proof],
    todo: Sequence[int],
    address: str,
    timeout: float | None,
    finished: Callable[[int, ProofResult], None],
) -> None:
    """Submit the proofs at the indices ``todo`` to the scheduler at ``address`` and call
    ``finished(index, result)`` as each completes."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError as err:
        raise SymdlError(_MISSING) from err
    units = {i: ProofUnit.of(proofs[i], timeout) for i in todo}
    if not units:
        return
    try:
        client = Client(address, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise SymdlError(f"could not reach the dask scheduler at {address}: {err}") from err
    with client:
        futures = {
            client.submit(run_unit, unit, pure=False, retries=0): i for i, unit in units.items()
        }
        for future in as_completed(futures, loop=client.loop):
            i = futures[future]
            try:
                outcome, seconds, note = future.result()
            except Exception as err:  # the worker died or the task could not run
                outcome, seconds, note = failure(f"the dask task failed: {err}"), 0.0, ""
            finished(i, result_of(proofs[i], outcome, seconds, note))
