"""The helper process that runs proof units for a dask worker thread.

A dask worker cannot run the forking budgets itself (see :mod:`symdl.proofbook.distributed`),
so each worker thread keeps one helper: a Python process started with ``subprocess`` (a
fresh interpreter: no inherited threads or locks, not daemonic) that has imported symdl
once and then runs units one at a time with the local runner — each proof in a forked
child under its budget, exactly as ``symdl prove`` runs it on one machine. Units and
answers travel as length-prefixed pickles over the helper's stdin and stdout; what a proof
prints goes to the helper's stderr, a temporary file, so it cannot corrupt an answer and
explains a helper that dies.

A helper that outlives a unit's budget by :data:`GRACE` seconds, or dies, is killed with
its process group and replaced by a new one for the next unit. A helper ends when its
stdin closes: when the worker closes it, or exits, or is killed.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import IO, Any

__all__ = ["GRACE", "HelperLost", "close_helper", "run_in_helper", "serve"]

#: Seconds past a unit's budget after which its helper is killed (it stops the proof
#: itself at the budget; this covers a helper that hangs).
GRACE = 60.0
_HEADER = struct.Struct(">Q")
_helpers = threading.local()


class HelperLost(Exception):
    """The helper timed out or died; the message says which."""


class _Helper:
    def __init__(self) -> None:
        # the log lives as long as the helper; the finalizer closes it
        self.log: IO[bytes] = tempfile.TemporaryFile(prefix="symdl-helper-")  # noqa: SIM115
        command = [sys.executable, "-c", "from symdl.proofbook.unit_process import serve; serve()"]
        self.process = subprocess.Popen(
            command,
            env=_same_symdl(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            bufsize=0,
            start_new_session=True,  # its own process group: killed with what it started
        )
        self.close = weakref.finalize(self, _stop, self.process, self.log)

    def run(self, unit: Any, limit: float | None) -> Any:
        data = pickle.dumps(unit)
        deadline = None if limit is None else time.monotonic() + limit
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(_HEADER.pack(len(data)) + data)
            (size,) = _HEADER.unpack(self._read(_HEADER.size, deadline))
            return pickle.loads(self._read(size, deadline))
        except (OSError, EOFError, pickle.UnpicklingError) as err:
            raise HelperLost(self._death(err)) from None

    def _read(self, n: int, deadline: float | None) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        chunks = []
        while n:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise HelperLost("timeout")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise HelperLost("timeout")
            chunk = os.read(fd, n)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _death(self, err: BaseException) -> str:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait()
        self.log.seek(0)
        lines = self.log.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
        self.close()
        return f"the helper process ended without an answer ({code}, {err!r}): " + " ".join(
            lines[-3:]
        )


def _stop(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """End a helper: close its stdin (it exits), then kill its group if it lingers."""
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        pass
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
    log.close()


def run_in_helper(unit: Any, limit: float | None) -> Any:
    """``unit``'s answer from this thread's helper (started on first use, and again after
    one was lost); :class:`HelperLost` when it timed out (``"timeout"``) or died."""
    helper = getattr(_helpers, "helper", None)
    if helper is None or helper.process.poll() is not None:
        helper = _helpers.helper = _Helper()
    try:
        return helper.run(unit, limit)
    except HelperLost:
        helper.close()
        _helpers.helper = None
        raise


def close_helper() -> None:
    """End this thread's helper, if it has one."""
    helper = getattr(_helpers, "helper", None)
    if helper is not None:
        helper.close()
        _helpers.helper = None


def _same_symdl() -> dict[str, str]:
    """The environment for a helper, such that it imports the symdl this worker runs: a
    checkout on the worker's path (not an installed package) goes first on PYTHONPATH."""
    env = dict(os.environ)
    root = Path(__file__).resolve().parent.parent.parent
    if root.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


def serve() -> None:
    """The helper's loop: read a unit, answer it, until stdin closes."""
    from symdl.proofbook.distributed import answer
    from symdl.proofbook.runner import failure

    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what proofs print goes to the log, never into an answer
    requests = sys.stdin.buffer
    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        try:
            reply = pickle.dumps(answer(pickle.loads(requests.read(size))))
        except Exception as err:  # a unit that does not load, a report that does not pickle
            reply = pickle.dumps((failure(f"{type(err).__name__}: {err}"), 0.0, ""))
        answers.write(_HEADER.pack(len(reply)) + reply)
        answers.flush()
