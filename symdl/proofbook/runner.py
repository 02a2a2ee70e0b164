"""Run proofs: in this process, or in a pool of forked workers, each under a time budget.

With ``jobs > 1`` or a ``timeout``, every proof runs in its own forked process, in its own
process group, at most ``jobs`` at a time. A proof that outlives its budget is killed
together with anything it started (the symbolic checks fork children of their own) and
recorded as ``undecided`` — a slow proof never hangs the book. A proof that raises is
recorded as ``error``; a worker that dies without answering likewise. Results come back
in the order of the proofs given, whatever order they finish in.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from symdl.derivation import Derivation
from symdl.proofbook.book import DerivationRecord, Proof, ProofResult, weakest
from symdl.proofbook.cache import ResultCache
from symdl.proofbook.figure import Figure
from symdl.verify.report import Report

__all__ = ["default_jobs", "run_proofs"]

#: Seconds past its budget after which an orphaned worker ends itself.
_GRACE = 10

#: Called after each proof with (result, number done, total).
Progress = Callable[[ProofResult, int, int], None]


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_proofs(
    proofs: Sequence[Proof],
    *,
    jobs: int = 1,
    timeout: float | None = None,
    cache: ResultCache | None = None,
    progress: Progress | None = None,
    dask: str | None = None,
) -> list[ProofResult]:
    """Run each proof; its verdict is the weakest verdict of its reports.

    ``jobs`` proofs run at once in forked workers (with ``jobs=1`` and no ``timeout``,
    in this process); ``timeout`` is each proof's budget in seconds; a ``cache`` supplies
    the results of unchanged proofs and keeps the new decisive ones. With ``dask`` (a
    scheduler address) the proofs run on that dask.distributed cluster instead, each as
    a :class:`~symdl.proofbook.distributed.ProofUnit` (``jobs`` is then unused).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    results: dict[int, ProofResult] = {}
    todo: list[int] = []
    for i, p in enumerate(proofs):
        hit = cache.load(p) if cache is not None else None
        if hit is None:
            todo.append(i)
        else:
            results[i] = hit
            if progress is not None:
                progress(hit, len(results), len(proofs))

    def finished(i: int, result: ProofResult) -> None:
        results[i] = result
        if cache is not None:
            cache.store(result)
        if progress is not None:
            progress(result, len(results), len(proofs))

    if cache is not None:  # the longest first, so that no long proof starts last
        known = cache.timings()
        todo.sort(key=lambda i: -known.get(proofs[i].key, math.inf))
    forking = "fork" in multiprocessing.get_all_start_methods()
    if dask is not None:
        from symdl.proofbook.distributed import run_on_dask

        run_on_dask(proofs, todo, dask, timeout, finished)
    elif forking and (jobs > 1 or timeout is not None):
        _run_forked(proofs, todo, jobs, timeout, finished)
    else:
        for i in todo:
            start = time.perf_counter()
            outcome = attempt(proofs[i].fn)
            finished(i, result_of(proofs[i], outcome, time.perf_counter() - start))
    ordered = [results[i] for i in range(len(proofs))]
    if cache is not None:
        cache.record_timings(ordered)
    return ordered


#: (verdict, reports, derivations, figures, error): what a worker sends back.
Outcome = tuple[str, tuple[Report, ...], tuple[DerivationRecord, ...], tuple[Figure, ...], str]


def failure(error: str) -> Outcome:
    """The outcome of a proof that could not be carried out."""
    return ("error", (), (), (), error)


def attempt(fn: Callable[[], Any]) -> Outcome:
    """(verdict, reports, derivations, figures, error) of calling a proof function;
    derivations are checked here when the proof did not check them, and their final
    claims' reports join the reports. Figures accompany the claims, never replace them."""
    try:
        out = fn()
        single = isinstance(out, (Report, Derivation, Figure))
        items = (out,) if single else tuple(out)
        figures = tuple(i for i in items if isinstance(i, Figure))
        claims = [i for i in items if not isinstance(i, Figure)]
        if not claims or not all(isinstance(i, (Report, Derivation)) for i in claims):
            raise TypeError(
                "a proof must return a Report or a Derivation, or a non-empty sequence of "
                "them (with any Figure it draws)"
            )
        items = tuple(claims)
        checked = [(i if i.checked else i.verify()) for i in items if isinstance(i, Derivation)]
        reports = tuple(i for i in items if isinstance(i, Report))
        reports += tuple(d.final for d in checked if d.final is not None)
        records = tuple(DerivationRecord.of(d) for d in checked)
        verdicts = [r.verdict for r in reports] + [d.verdict for d in records]
        return weakest(verdicts), reports, records, figures, ""
    except Exception as err:  # a broken proof is reported, the book goes on
        return failure(f"{type(err).__name__}: {err}")


def result_of(p: Proof, outcome: Outcome, seconds: float, note: str = "") -> ProofResult:
    """The result of ``p`` from a worker's outcome."""
    verdict, reports, derivations, figures, error = outcome
    return ProofResult(
        p,
        verdict,
        tuple(reports),
        error=error,
        seconds=seconds,
        note=note,
        derivations=tuple(derivations),
        figures=tuple(figures),
    )


@dataclass
class _Running:
    index: int
    process: Any
    receiver: Connection
    start: float


def _run_forked(
    proofs: Sequence[Proof],
    todo: list[int],
    jobs: int,
    timeout: float | None,
    finished: Callable[[int, ProofResult], None],
) -> None:
    ctx = multiprocessing.get_context("fork")
    pending = list(reversed(todo))
    running: list[_Running] = []
    previous = _stop_on_sigterm()
    try:
        while pending or running:
            while pending and len(running) < jobs:
                running.append(_start(ctx, pending.pop(), proofs, timeout))
            wait_for = None
            if timeout is not None:
                now = time.perf_counter()
                wait_for = max(0.0, min(r.start + timeout - now for r in running))
            ready = wait([r.receiver for r in running], timeout=wait_for)
            for r in list(running):
                elapsed = time.perf_counter() - r.start
                p = proofs[r.index]
                if r.receiver in ready:
                    running.remove(r)
                    finished(r.index, _collect(r, p, elapsed))
                elif timeout is not None and elapsed >= timeout:
                    running.remove(r)
                    _stop(r)
                    note = f"the proof's time budget of {timeout:g} s ran out; it was stopped"
                    finished(r.index, ProofResult(p, "undecided", seconds=elapsed, note=note))
    finally:
        for r in running:
            _stop(r)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm() -> Any:
    """Make SIGTERM raise SystemExit while the pool runs, so that the workers — each in a
    process group of its own, out of reach of signals sent to this one — are stopped on
    the way out. Returns the previous handler (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, terminate)


def _start(ctx: Any, index: int, proofs: Sequence[Proof], timeout: float | None) -> _Running:
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_work, args=(sender, proofs[index].fn, timeout))
    with warnings.catch_warnings():
        # Python ≥ 3.12 warns that fork in a threaded process may deadlock; the worker
        # only runs the proof (pure Python and NumPy) and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        process.start()
    sender.close()
    with contextlib.suppress(OSError):  # the worker does it too: no race either way
        os.setpgid(process.pid, process.pid)
    return _Running(index, process, receiver, time.perf_counter())


def _work(sender: Connection, fn: Callable[[], Any], timeout: float | None) -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if timeout is not None:
        # a backstop should the parent die without stopping us: SIGALRM ends the worker
        signal.alarm(math.ceil(timeout) + _GRACE)
    try:
        outcome = attempt(fn)
        try:
            sender.send(outcome)
        except Exception as err:  # a report that does not pickle
            sender.send(failure(f"could not return the reports: {err}"))
    except BaseException as err:
        trace = traceback.format_exc(limit=3)
        sender.send(failure(f"{type(err).__name__}: {err}\n{trace}"))
    finally:
        sender.close()
        os._exit(0)


def _collect(r: _Running, p: Proof, elapsed: float) -> ProofResult:
    try:
        outcome = r.receiver.recv()
    except (EOFError, OSError):
        r.process.join()
        outcome = failure(f"the worker died without answering ({r.process.exitcode})")
    r.process.join()
    r.receiver.close()
    return result_of(p, outcome, elapsed)


def _stop(r: _Running) -> None:
    """Kill the worker and its process group (the checks' own children with it)."""
    try:
        os.killpg(r.process.pid, signal.SIGKILL)
    except OSError:
        r.process.kill()
    r.process.join()
    r.receiver.close()
