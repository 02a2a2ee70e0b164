"""Planted bugs: detection and false-alarm rates of every gradient checker, side by side.

Run: ``python -m benchmarks peers_bugs``. The gradient is that of a dense tanh layer over
a batch (:mod:`benchmarks.bug_problem`), ``W`` square with 9, 1,024 and 10,000 entries
(the squares nearest 10, 1,000 and 10,000, so a transposed gradient keeps its shape).
Each trial draws a new problem and a new wrong entry; a cell is "flagged / trials".
For the bug rows higher is better; for the correct rows every flag is a false alarm.
"""

from __future__ import annotations

import time

from benchmarks.bug_problem import BUGS, CORRECT, Problem
from benchmarks.checkers import RULES, checkers
from benchmarks.config import Config
from benchmarks.peers import NOT_INSTALLED
from benchmarks.table import Table

SIZES = {9: 3, 1024: 32, 10_000: 100}
TRIALS = {9: 20, 1024: 5, 10_000: 2}


def run(config: Config) -> list[Table]:
    sizes = {9: 3} if config.quick else SIZES
    tables = []
    methods = checkers()
    for n, d in sizes.items():
        trials = 1 if config.quick else (config.trials or TRIALS[n])
        counts: dict[str, dict[str, int]] = {name: {} for name in methods}
        seconds = {name: 0.0 for name in methods}
        calls = {name: 0 for name in methods}
        checks = 0
        for trial in range(trials):
            for kind in (*BUGS, *CORRECT):
                checks += 1
                problem = Problem(d, seed=config.seed + 1000 * trial + n)
                for name, check in methods.items():
                    if check is None:
                        continue
                    problem.calls = 0
                    start = time.perf_counter()
                    flagged = check(problem.loss, problem.claim(kind), problem.point(kind))
                    seconds[name] += time.perf_counter() - start
                    calls[name] += problem.calls
                    counts[name][kind] = counts[name].get(kind, 0) + int(flagged)
        header = ("planted bug / correct gradient", *methods)
        rows = []
        for kind in (*BUGS, *CORRECT):
            cells = [
                NOT_INSTALLED if methods[name] is None else f"{counts[name][kind]}/{trials}"
                for name in methods
            ]
            rows.append((kind, *cells))
        rows.append(
            (
                "mean seconds per check",
                *(
                    NOT_INSTALLED if methods[m] is None else f"{seconds[m] / checks:.3g}"
                    for m in methods
                ),
            )
        )
        rows.append(
            (
                "mean loss evaluations per check",
                *(
                    NOT_INSTALLED if methods[m] is None else f"{calls[m] / checks:.0f}"
                    for m in methods
                ),
            )
        )
        notes = (
            f"W {d}×{d} ({n} entries), batch 8; {trials} trial(s), each a new random problem "
            "and a new wrong entry among the larger half of |∇L|.",
            "Bug rows: higher is better. Correct rows: every flag is a false alarm. "
            "'float32 gradient, float64 loss': the claim is computed in float32, the checker "
            "evaluates the loss in float64; 'float32 throughout': parameters, loss and "
            "gradient all float32, as handed to each tool.",
            *(f"{name}: flagged when {rule}" for name, rule in RULES.items()),
        )
        data = {"size": n, "trials": trials, "counts": counts, "seconds": seconds, "calls": calls}
        title = f"Planted bugs in a {n:,}-entry gradient: flagged / trials"
        tables.append(Table(f"peers_bugs_{n}", title, header, tuple(rows), notes, data))
    return tables
