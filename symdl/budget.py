"""Run symbolic work under a time budget, where it can be stopped.

SymPy calls such as ``simplify`` can run for hours on an unlucky input and do not check a
clock, so they run in a forked child process that is killed when the budget runs out. The
child also caps its own address space, so an expression that explodes in size fails there
instead of taking the machine's memory. Where ``fork`` is unavailable the work runs in the
calling process, without a limit.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TypeVar

from symdl.errors import BudgetExceeded, SymdlError

__all__ = ["DEFAULT_TIMEOUT", "MEMORY_LIMIT", "deadline", "run_with_budget"]

#: Seconds allowed for the symbolic step of one check unless the caller says otherwise.
DEFAULT_TIMEOUT = 20.0
#: Bytes of extra address space the child may use beyond what it inherited.
MEMORY_LIMIT = 4 * 2**30

R = TypeVar("R")


def run_with_budget(fn: Callable[..., R], *args: Any, timeout: float) -> R:
    """``fn(*args)`` within ``timeout`` seconds, or :class:`BudgetExceeded`."""
    if timeout <= 0:
        raise BudgetExceeded("no time budget left")
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        return fn(*args)
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, fn, args), daemon=True)
    with warnings.catch_warnings():
        # Python ≥ 3.12 warns that fork in a threaded process may deadlock; the child only
        # runs pure-Python SymPy code and exits, so that warning does not apply here.
        warnings.simplefilter("ignore", DeprecationWarning)
        process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise BudgetExceeded(f"symbolic work did not finish within {timeout:g} s")
        try:
            status, payload = receiver.recv()
        except EOFError:
            raise BudgetExceeded("symbolic work ran out of memory or was killed") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    if status == "error":
        raise SymdlError(f"symbolic work failed: {payload}")
    return payload  # type: ignore[no-any-return]


def _child(sender: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        used = _address_space()
        if used:
            limit = used + MEMORY_LIMIT
            if hard == resource.RLIM_INFINITY or limit < hard:
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass
    try:
        sender.send(("ok", fn(*args)))
    except MemoryError:
        sender.send(("error", "out of memory"))
    except BaseException as err:  # report everything to the parent, which decides
        sender.send(("error", f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"))
    finally:
        sender.close()
        os._exit(0)


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`BudgetExceeded` in the code inside after ``seconds`` of wall time.

    For work that must stay in this process (it builds what a forked child would have to
    send back, such as the entrywise expansion of a claim): a ``SIGALRM`` timer, in the
    main thread of a POSIX process; elsewhere the work runs without a limit. Deadlines
    nest (the inner one is restored to the outer when it ends), and an alarm already set
    to go off sooner is left to end the work.
    """
    if seconds <= 0:
        raise BudgetExceeded("no time budget left")
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return
    earlier, _ = signal.getitimer(signal.ITIMER_REAL)
    if 0 < earlier <= seconds:
        yield
        return
    start = time.monotonic()

    def expire(signum: int, frame: FrameType | None) -> None:
        if _in_callback(frame):
            # an exception raised in a weakref or gc callback is printed and dropped
            # ("Exception ignored in ..."), and the work would run on unbounded: ask again
            # as soon as the callback has returned
            signal.setitimer(signal.ITIMER_REAL, 1e-3)
            return
        # again in a second, should the code inside catch this one and carry on
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        raise BudgetExceeded(f"symbolic work did not finish within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier:
            signal.setitimer(signal.ITIMER_REAL, max(earlier - (time.monotonic() - start), 1e-3))


# Code that the interpreter runs as a callback, where a raised exception cannot propagate.
_CALLBACK_FILES = ("weakref.py", "_weakrefset.py")
_CALLBACK_NAMES = frozenset({"__del__", "gc_callback", "_remove", "remove", "callback"})


def _in_callback(frame: FrameType | None) -> bool:
    """Whether the interrupted frame is a weakref/gc callback or a finaliser."""
    if frame is None:
        return False
    code = frame.f_code
    return code.co_name in _CALLBACK_NAMES or code.co_filename.endswith(_CALLBACK_FILES)
