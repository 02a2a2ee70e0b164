"""Run the proof book on a dask.distributed cluster (``symdl prove --dask ADDRESS``).

Each proof travels as a :class:`ProofUnit`: its file's source (and the shared ``_*.py``
modules beside it), the proof's name and its time budget, so the workers need symdl
installed but not the proofs folder. On the worker, :func:`run_unit` runs the unit in a
fresh Python process (``subprocess``), which runs it exactly as the local pool does:
:func:`~symdl.proofbook.runner.run_proofs` with the budget, in a forked worker in its own
process group, killed with everything it started when the budget runs out.

Why a fresh process: the budget — the per-proof one and the one inside each symbolic
check (:mod:`symdl.budget`) — forks, and a dask worker can do neither safely. Under a
nanny the worker is a daemonic process, which :mod:`multiprocessing` forbids to have
children; and forking the worker itself, with its event-loop and executor threads, risks
a child that deadlocks on a lock held by a thread that did not come along. ``subprocess``
starts a new interpreter (no inherited threads or locks, and not daemonic), so the
budget works unchanged on any worker, with or without a nanny. The cost is one Python
start and one import of symdl per proof (about a second).

dask is optional: it is imported only here, only when a cluster is asked for.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symdl.errors import SymdlError
from symdl.proofbook.book import Proof, ProofResult

__all__ = ["ProofUnit", "run_on_dask", "run_unit"]

#: Seconds past its budget after which a unit's process is killed by the dask worker (it
#: stops its own proof at the budget; this covers a start-up that hangs).
_GRACE = 60.0
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
    """Run ``unit`` in a fresh Python process (see the module docstring) and return its
    answer; this is the function the dask workers call."""
    command = [sys.executable, "-c", "from symdl.proofbook.distributed import serve; serve()"]
    limit = None if unit.timeout is None else unit.timeout + _GRACE
    process = subprocess.Popen(
        command,
        env=_same_symdl(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: killed with what it started
    )
    try:
        out, err = process.communicate(pickle.dumps(unit), timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        note = f"the proof's process outlived its budget of {unit.timeout:g} s; it was stopped"
        return ("undecided", (), (), (), ""), float(limit or 0.0), note
    except BaseException:
        _kill_group(process)
        raise
    try:
        answer: Answer = pickle.loads(out)
        return answer
    except Exception:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        error = f"the proof's process ended without an answer ({process.returncode}): "
        return ("error", (), (), (), error + " ".join(tail)), 0.0, ""


def _same_symdl() -> dict[str, str]:
    """The environment for the unit's process, such that it imports the symdl this worker
    runs: a checkout on the worker's path (not an installed package) goes first on
    PYTHONPATH."""
    env = dict(os.environ)
    root = Path(__file__).resolve().parent.parent.parent
    if root.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    process.wait()


def serve() -> None:
    """The unit's process: read a pickled :class:`ProofUnit` on stdin, run it with the
    local runner under its budget, write the pickled answer on stdout. What the proof
    prints goes to stderr, so it cannot corrupt the answer."""
    from symdl.proofbook.book import discover
    from symdl.proofbook.runner import failure, run_proofs

    answer_fd = os.dup(1)
    os.dup2(2, 1)
    unit: ProofUnit = pickle.load(sys.stdin.buffer)
    with tempfile.TemporaryDirectory(prefix="symdl-unit-") as folder:
        for name, source in ((unit.filename, unit.source), *unit.shared):
            (Path(folder) / name).write_bytes(source)
        found = [p for p in discover(Path(folder) / unit.filename) if p.name == unit.name]
        if not found:
            answer: Answer = (failure(f"no proof {unit.key} in the file sent"), 0.0, "")
        else:
            (result,) = run_proofs(found[:1], jobs=1, timeout=unit.timeout)
            outcome = (
                result.verdict,
                result.reports,
                result.derivations,
                result.figures,
                result.error,
            )
            answer = (outcome, result.seconds, result.note)
    with os.fdopen(answer_fd, "wb") as f:
        pickle.dump(answer, f)


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
    from symdl.proofbook.runner import failure, result_of

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
