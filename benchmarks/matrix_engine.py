"""The matrix calculus engine: derivation time in depth, and generated code against backprop.

1. A depth-L tanh MLP with symbolic width, ``sum((W_L @ tanh(… tanh(W_1 @ x + b_1) …) + b_L
   - y)**2)``, differentiated by every weight and bias, L = 1, 2, 4, …, 64: the time to
   derive (reverse sweep, naming, code generation), the time to check (entrywise at two
   small sizes and finite differences of the generated code; only for small L, where the
   entrywise expansion stays small), and the operations in the generated gradient code as
   a multiple of those in the generated forward code.
2. The generated gradient of a width-256, depth-4 tanh MLP on a batch of 64 columns, timed
   side by side with a hand-written NumPy backprop in the same process; the figure is the
   ratio of their median times.

Run: ``python benchmarks/matrix_engine.py`` (add ``--quick`` for L ≤ 16 and fewer repeats).
"""

from __future__ import annotations

import ast
import os
import statistics
import sys
import time

# One BLAS thread, set before NumPy loads, as in benchmarks/__main__.py: on a loaded machine
# a threaded BLAS spins and the side-by-side times mostly measure the other processes.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

from symdl import ops  # noqa: E402
from symdl.codegen import numpy_function  # noqa: E402
from symdl.derive.matrix import matrix_gradient  # noqa: E402
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


def depth_table(depths: list[int], check_up_to: int) -> None:
    print("depth-L tanh MLP, symbolic width n, gradients by every W_i and b_i")
    print(f"{'L':>3}  {'derive s':>9}  {'check s':>8}  {'verdict':>9}  {'grad ops / fwd ops':>18}")
    for depth in depths:
        f, shapes, wrt = mlp_expression(depth)
        start = time.perf_counter()
        g = matrix_gradient(f, wrt, shapes=shapes, check=False)
        derive = time.perf_counter() - start
        forward = numpy_function(f, list(g.code.names), sizes={}).source
        ratio = operations(g.code.source) / operations(forward)
        check, verdict = "-", "-"
        if depth <= check_up_to:
            start = time.perf_counter()
            checked = matrix_gradient(f, wrt, shapes=shapes, timeout=120)
            check = f"{time.perf_counter() - start - derive:.2f}"
            verdict = checked.verdict
        print(f"{depth:>3}  {derive:>9.3f}  {check:>8}  {verdict:>9}  {ratio:>18.2f}")


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


def versus_backprop(repeats: int) -> None:
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


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    depths = [1, 2, 4, 8, 16] if quick else [1, 2, 4, 8, 16, 32, 64]
    Scope.build({})  # import-time work done before any timing
    depth_table(depths, check_up_to=2 if quick else 4)
    versus_backprop(20 if quick else 200)


if __name__ == "__main__":
    main(sys.argv[1:])
