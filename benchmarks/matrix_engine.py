"""The matrix calculus engine: derivation time in depth, and generated code against backprop.

1. A depth-L tanh MLP with symbolic width, ``sum((W_L @ tanh(… tanh(W_1 @ x + b_1) …) + b_L
   - y)**2)``, differentiated by every weight and bias, L = 1, 2, 4, …, 64: the time to
   derive (reverse sweep, naming, code generation), the time to check with the default
   timeout (:func:`symdl.derive.matrix_check.check_gradients`: induction over the reverse
   sweep at two small sizes, high-precision values in let-form, finite differences of the
   generated code), the verdict, and the operations in the generated gradient code as a
   multiple of those in the generated forward code. The growth in L is summarised by the
   exponent ``k`` of a least-squares fit ``time ≈ c·L^k`` (1 is linear).
2. The generated gradient of a width-256, depth-4 tanh MLP on a batch of 64 columns, timed
   side by side with a hand-written NumPy backprop in the same process; the figure is the
   ratio of their median times.

Run: ``python benchmarks/matrix_engine.py`` (add ``--quick`` for L ≤ 16 and fewer repeats).
The tables are printed and written to ``benchmarks/results/matrix_engine.{json,md}``.
"""

from __future__ import annotations

import ast
import math
import os
import statistics
import sys
import time
from pathlib import Path

# One BLAS thread, set before NumPy loads, as in benchmarks/__main__.py: on a loaded machine
# a threaded BLAS spins and the side-by-side times mostly measure the other processes.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, too

from benchmarks.table import Table, stamp, write  # noqa: E402
from symdl import ops  # noqa: E402
from symdl.budget import DEFAULT_TIMEOUT  # noqa: E402
from symdl.codegen import numpy_function  # noqa: E402
from symdl.derive.matrix import matrix_gradient  # noqa: E402
from symdl.derive.matrix_check import check_gradients  # noqa: E402
from symdl.nodes import EntrySum  # noqa: E402
from symdl.shapes import Scope  # noqa: E402


def mlp(depth: int, *, batch: bool = False) -> tuple[str, dict[str, str], list[str]]:
    """The loss text, the shapes, and the variables of a depth-``depth`` tanh MLP."""
    shapes: dict[str, str] = {"x": "n x B" if batch else "n", "y": "n x B" if batch else "n"}
    if batch:
        shapes["o"] = "1 x B"  # a row of ones: b @ o broadcasts a bias over the batch
    a = "x"
    wrt = []
    for i in range(1, depth + 1):
        shapes[f"W{i}"] = "n x n"
        shapes[f"b{i}"] = "n"
        bias = f"b{i} @ o" if batch else f"b{i}"
        z = f"W{i} @ {a} + {bias}"
        a = f"tanh({z})" if i < depth else z
        wrt += [f"W{i}", f"b{i}"]
    return f"sum(({a} - y)**2)", shapes, wrt


def mlp_expression(depth: int) -> tuple[sp.Basic, dict[str, str], list[str]]:
    """The same loss built with the input language's operations (the parser limits nesting
    to 60 levels, and a depth-64 network nests deeper)."""
    _, shapes, wrt = mlp(depth)
    scope = Scope.build(shapes)
    a = scope.symbol("x")
    for i in range(1, depth + 1):
        z = ops.add(ops.matmul(scope.symbol(f"W{i}"), a), scope.symbol(f"b{i}"))
        a = ops.elementwise(sp.tanh, z) if i < depth else z
    residual = ops.sub(a, scope.symbol("y"))
    return EntrySum(ops.power(residual, sp.Integer(2))), shapes, wrt


def operations(source: str) -> int:
    """Array operations in generated source: binary operators and calls."""
    tree = ast.parse(source)
    return sum(isinstance(n, (ast.BinOp, ast.Call, ast.UnaryOp)) for n in ast.walk(tree))


def exponent(depths: list[int], seconds: list[float]) -> float:
    """The slope ``k`` of the least-squares line through ``(log L, log t)``."""
    xs, ys = [math.log(d) for d in depths], [math.log(max(t, 1e-6)) for t in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def depth_table(depths: list[int]) -> Table:
    print("depth-L tanh MLP, symbolic width n, gradients by every W_i and b_i")
    header = ("L", "derive s", "check s", "derive + check s", "verdict", "grad ops / fwd ops")
    print("  ".join(f"{h:>10}" for h in header))
    rows, derive_s, check_s, verdicts, ratios = [], [], [], [], []
    for depth in depths:
        f, shapes, wrt = mlp_expression(depth)
        start = time.perf_counter()
        g = matrix_gradient(f, wrt, shapes=shapes, check=False)
        derive = time.perf_counter() - start
        forward = numpy_function(f, list(g.code.names), sizes={}).source
        ratio = operations(g.code.source) / operations(forward)
        start = time.perf_counter()
        report = check_gradients(
            g.function,
            g.wrt,
            g.sweep,
            g.code,
            g.scope,
            f"depth {depth}",
            points=4,
            precision=30,
            timeout=DEFAULT_TIMEOUT,
            seed=0,
        )
        check = time.perf_counter() - start
        row = (
            str(depth),
            f"{derive:.3f}",
            f"{check:.2f}",
            f"{derive + check:.2f}",
            report.verdict,
            f"{ratio:.2f}",
        )
        print("  ".join(f"{c:>10}" for c in row), flush=True)
        rows.append(row)
        derive_s.append(derive)
        check_s.append(check)
        verdicts.append(report.verdict)
        ratios.append(ratio)
    totals = [d + c for d, c in zip(derive_s, check_s)]
    fits = {
        "derive": exponent(depths, derive_s),
        "check": exponent(depths, check_s),
        "derive + check": exponent(depths, totals),
    }
    tail = [i for i, d in enumerate(depths) if d >= 4]
    if len(tail) >= 2:
        fits["derive + check, L >= 4"] = exponent(
            [depths[i] for i in tail], [totals[i] for i in tail]
        )
    notes = [
        "fitted exponent k of time ≈ c·L^k: "
        + ", ".join(f"{name} {k:.2f}" for name, k in fits.items()),
        f"check: induction over the reverse sweep at n = 2 and n = 3, 4 high-precision points "
        f"at each, finite differences of the generated code; timeout {DEFAULT_TIMEOUT:g} s",
    ]
    for note in notes:
        print(note)
    return Table(
        "matrix_engine_depth",
        "Depth-L tanh MLP: derivation and check time",
        header,
        tuple(rows),
        tuple(notes),
        {
            "depths": depths,
            "derive_s": derive_s,
            "check_s": check_s,
            "verdicts": verdicts,
            "grad_over_forward_ops": ratios,
            "exponents": fits,
        },
    )


def backprop(Ws, bs, x, y, o):
    """Hand-written reverse mode for sum((W4 a3 + b4 1ᵀ − y)²), a_i = tanh(W_i a_{i−1} + b_i 1ᵀ)."""
    acts = [x]
    for W, b in zip(Ws[:-1], bs[:-1]):
        acts.append(np.tanh(W @ acts[-1] + b @ o))
    out = Ws[-1] @ acts[-1] + bs[-1] @ o
    delta = 2 * (out - y)
    grads = {}
    for i in range(len(Ws), 0, -1):
        grads[f"W{i}"] = delta @ acts[i - 1].T
        grads[f"b{i}"] = delta @ o.T
        if i > 1:
            delta = (Ws[i - 1].T @ delta) * (1 - acts[i - 1] ** 2)
    return grads


def versus_backprop(repeats: int) -> Table:
    depth, width, batch = 4, 256, 64
    text, shapes, wrt = mlp(depth, batch=True)
    g = matrix_gradient(text, wrt, shapes=shapes, check=False)
    rng = np.random.default_rng(0)
    Ws = [rng.normal(scale=width**-0.5, size=(width, width)) for _ in range(depth)]
    bs = [rng.normal(size=(width, 1)) for _ in range(depth)]
    x, y = rng.normal(size=(width, batch)), rng.normal(size=(width, batch))
    o = np.ones((1, batch))
    args = {f"W{i + 1}": W for i, W in enumerate(Ws)}
    args.update({f"b{i + 1}": b for i, b in enumerate(bs)})
    args.update(x=x, y=y, o=o)
    ours, peer = g.code(**args), backprop(Ws, bs, x, y, o)
    worst = max(float(np.max(np.abs(ours[k] - peer[k]))) for k in peer)
    times: dict[str, list[float]] = {"generated": [], "hand-written": []}
    runs = {"generated": lambda: g.code(**args), "hand-written": lambda: backprop(Ws, bs, x, y, o)}
    for i in range(repeats):  # interleaved, alternating order, so both see the same load
        for name in sorted(runs, reverse=bool(i % 2)):
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    print(f"\nwidth {width}, depth {depth}, batch {batch}: {repeats} runs each, interleaved")
    print(f"  {'':26}{'median ms':>10}{'min ms':>10}")
    for name in ("generated", "hand-written"):
        med, low = statistics.median(times[name]), min(times[name])
        print(f"  {name + ' gradient code':26}{med * 1e3:10.3f}{low * 1e3:10.3f}")
    ratio_med = statistics.median(times["generated"]) / statistics.median(times["hand-written"])
    ratio_min = min(times["generated"]) / min(times["hand-written"])
    print(f"  ratio generated / hand: {ratio_med:.3f} (medians), {ratio_min:.3f} (minima)")
    print(f"  largest difference between the two gradients: {worst:.1e}")
    rows = tuple(
        (
            name,
            f"{statistics.median(times[name]) * 1e3:.3f}",
            f"{min(times[name]) * 1e3:.3f}",
        )
        for name in ("generated", "hand-written")
    )
    return Table(
        "matrix_engine_backprop",
        f"Generated gradient vs hand-written backprop (width {width}, depth {depth}, "
        f"batch {batch})",
        ("gradient code", "median ms", "min ms"),
        rows,
        (
            f"{repeats} runs each, interleaved; ratio generated / hand {ratio_med:.3f} "
            f"(medians), {ratio_min:.3f} (minima); largest difference {worst:.1e}",
        ),
        {"ratio_median": ratio_med, "ratio_min": ratio_min, "largest_difference": worst},
    )


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    depths = [1, 2, 4, 8, 16] if quick else [1, 2, 4, 8, 16, 32, 64]
    Scope.build({})  # import-time work done before any timing
    tables = [depth_table(depths), versus_backprop(20 if quick else 200)]
    if not quick:
        out = Path(__file__).resolve().parent / "results"
        for path in write(tables, "matrix_engine", out, stamp({})):
            print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
