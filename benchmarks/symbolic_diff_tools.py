"""The tools of the symbolic differentiation benchmark, each run in a forked child.

A tool is a generator of messages: ``("derived", seconds, held)`` (``held``: a derivative
left unevaluated), ``("value", {name: array})`` at the benchmark's point, ``("size",
text)`` and, for symdl, ``("checked", seconds, verdict)``. :func:`staged` runs one in a
child and gives each message ``limit`` seconds, so a blow-up reads as a timeout.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy.tensor.array.expressions import (
    ArrayAdd,
    ArrayContraction,
    ArrayDiagonal,
    ArrayTensorProduct,
    PermuteDims,
)

from benchmarks.peers import _load
from benchmarks.symbolic_diff_algebra import Explicit, Symbolic

if TYPE_CHECKING:
    from benchmarks.symbolic_diff import Case

#: above this many operations (SymEngine's own count) a SymEngine result's size is that
#: count, marked †, instead of sympy.count_ops of its conversion to SymPy
NATIVE_COUNT = 10**6


def symdl_tool(
    case: Case, values: dict[str, Any], limit: float, *, check: bool = True
) -> Iterator[tuple[Any, ...]]:
    from symdl.derive.matrix import matrix_gradient

    kwargs: dict[str, Any] = {"shapes": case.shapes, "assume": case.assume or None}
    start = time.perf_counter()
    g = matrix_gradient(case.text, case.wrt, check=False, **kwargs)
    derive = time.perf_counter() - start
    yield ("derived", derive, False)
    named = sum(sp.count_ops(e) for _, e in g.definitions)
    named += sum(sp.count_ops(e) for e in g.named.values())
    full = sum(sp.count_ops(e) for e in g.gradients.values())
    yield ("size", f"{named} ({full})")
    out = g.code(**{n: values[n] for n in g.code.names})
    yield ("value", {w: np.asarray(out[w], dtype=float) for w in case.wrt})
    if not check:
        return
    start = time.perf_counter()
    checked = matrix_gradient(case.text, case.wrt, timeout=0.9 * limit, **kwargs)
    yield ("checked", time.perf_counter() - start - derive, checked.verdict)


def sympy_matrix_tool(
    case: Case, values: dict[str, Any], limit: float
) -> Iterator[tuple[Any, ...]]:
    a = Symbolic(case.shapes, case.sizes)
    f = case.build(a)
    start = time.perf_counter()
    grads = {w: f.diff(a.var(w)) for w in case.wrt}
    derive = time.perf_counter() - start
    held = any(g.has(sp.Derivative) or "Derivative" in sp.srepr(g) for g in grads.values())
    yield ("derived", derive, held)
    if not held:
        sizes = {a.dims[d]: v for d, v in case.sizes.items()}
        try:
            yield ("value", {w: evaluate(g, sizes, values) for w, g in grads.items()})
        except Exception as err:  # an ill-formed result: say why, and still count its size
            yield ("unevaluable", _first_line(err))
    yield ("size", str(sum(sp.count_ops(g) for g in grads.values())))


def explicit_tool(backend_name: str) -> Callable[..., Iterator[tuple[Any, ...]]]:
    def job(case: Case, values: dict[str, Any], limit: float) -> Iterator[tuple[Any, ...]]:
        backend: Any = sp if backend_name == "sympy" else _load("symengine")
        a = Explicit(case.shapes, case.sizes, backend)
        f = case.build(a)
        start = time.perf_counter()
        grads = {w: [f.diff(s) for s in a.entries(a.made[w])] for w in case.wrt}
        derive = time.perf_counter() - start
        yield ("derived", derive, False)
        names = [n for n in a.made if n in values]
        symbols = [s for n in names for s in _flat(a, a.made[n])]
        numbers = [float(v) for n in names for v in np.ravel(values[n])]
        if backend is sp:
            at = dict(zip(symbols, map(sp.Float, numbers)))
            flat = {w: [float(e.xreplace(at)) for e in g] for w, g in grads.items()}
        else:
            at = dict(zip(symbols, map(backend.RealDouble, numbers)))
            flat = {w: [float(e.subs(at)) for e in g] for w, g in grads.items()}
        yield ("value", {w: np.reshape(flat[w], np.shape(values[w])) for w in case.wrt})
        if backend is sp:
            yield ("size", str(sum(sp.count_ops(e) for g in grads.values() for e in g)))
            return
        own = sum(backend.count_ops(e) for g in grads.values() for e in g)
        if own > NATIVE_COUNT:  # converting a result this large to SymPy takes minutes
            yield ("size", f"{own}†")
        else:
            yield ("size", str(sum(sp.count_ops(sp.sympify(e)) for g in grads.values() for e in g)))

    return job


def _flat(a: Explicit, m: Any) -> list[Any]:
    return [m] if not hasattr(m, "rows") else a.entries(m)


JOBS = {
    "symdl": symdl_tool,
    "SymPy MatrixSymbol": sympy_matrix_tool,
    "SymPy explicit": explicit_tool("sympy"),
    "SymEngine explicit": explicit_tool("symengine"),
}


def evaluate(expr: Any, sizes: dict[sp.Symbol, int], values: dict[str, Any]) -> np.ndarray:
    """A SymPy matrix or array expression with symbolic dimensions, as a float64 array at
    concrete ``sizes`` and ``values``. Array expressions are made explicit node by node
    with SymPy's own array operations (its ``as_explicit`` fails on a sum mixing matrices
    and arrays)."""
    out = _explicit_value(expr.subs(sizes), values)
    if isinstance(out, sp.MatrixBase):
        out = sp.Array(out)
    if isinstance(out, sp.NDimArray):
        return np.array(out.tolist(), dtype=float)
    return np.array(float(out))


def _explicit_value(e: Any, values: dict[str, Any]) -> Any:
    if isinstance(e, ArrayAdd):
        parts = [_as_array(_explicit_value(t, values)).reshape(*e.shape) for t in e.args]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return total
    if isinstance(e, ArrayTensorProduct):
        return sp.tensorproduct(*[_explicit_value(t, values) for t in e.args])
    if isinstance(e, ArrayContraction):
        return sp.tensorcontraction(_explicit_value(e.expr, values), *e.contraction_indices)
    if isinstance(e, ArrayDiagonal):
        return sp.tensordiagonal(_explicit_value(e.expr, values), *e.diagonal_indices)
    if isinstance(e, PermuteDims):
        return sp.permutedims(_explicit_value(e.expr, values), e.permutation)
    known = {m: sp.ImmutableMatrix(values[m.name]) for m in e.atoms(sp.MatrixSymbol)}
    known.update({s: sp.Float(values[s.name]) for s in e.free_symbols if isinstance(s, sp.Symbol)})
    known.update({o: sp.ImmutableMatrix(sp.ones(*o.shape)) for o in e.atoms(sp.OneMatrix)})
    e = e.xreplace(known).doit()
    if isinstance(e, sp.MatrixExpr) or hasattr(e, "as_explicit"):
        e = e.as_explicit()
    if isinstance(e, sp.MatrixBase):
        return e.applyfunc(lambda t: t.doit().evalf())
    return e.doit().evalf()


def _as_array(e: Any) -> Any:
    if isinstance(e, sp.MatrixBase):
        return sp.Array(e)
    return e if isinstance(e, sp.NDimArray) else sp.Array([e])


def _child(sender: Any, job: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        import resource

        from symdl.budget import MEMORY_LIMIT

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as f:
            limit = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE") + MEMORY_LIMIT
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass
    try:
        from sympy.core.cache import clear_cache

        clear_cache()  # nothing the parent computed speeds the child up
        for message in job(*args):
            sender.send(message)
    except MemoryError:
        sender.send(("error", "MemoryError: out of memory"))
    except BaseException as err:  # everything is reported; the parent decides
        sender.send(("error", _first_line(err)))
    finally:
        sender.send(("end",))
        sender.close()
        os._exit(0)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def staged(job: Callable[..., Any], args: tuple[Any, ...], limit: float) -> list[tuple[Any, ...]]:
    """The messages ``job(*args)`` yields in a forked child, each within ``limit`` seconds
    of the previous one; a stage that does not finish ends the list with ``("timeout",)``."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, job, args))
    process.start()
    sender.close()
    messages: list[tuple[Any, ...]] = []
    try:
        while True:
            if not receiver.poll(limit):
                messages.append(("timeout",))
                break
            try:
                message = receiver.recv()
            except EOFError:
                messages.append(("error", "killed (out of memory?)"))
                break
            if message[0] == "end":
                break
            messages.append(message)
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    return messages
