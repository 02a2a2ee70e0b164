"""The benchmark harness: ``python -m benchmarks [NAME...] [--quick] [--trials N] [--out DIR]``.

Runs the named benchmarks (all by default), prints their Markdown tables and writes
``NAME.json`` and ``NAME.md`` under ``benchmarks/results/`` (or ``--out``), each stamped
with the machine, the date and the versions of the peers that were installed. Peers are
optional (``pip install -e ".[bench]"``): a missing one reads "not installed".
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.config import Config
from benchmarks.peers import versions
from benchmarks.table import stamp, write

# One BLAS thread, set before NumPy loads (nothing above imports it): on a loaded machine
# a threaded BLAS spins, and a 100×100 complex matrix product took 18× longer with two
# threads than with one.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
# and one thread for XLA, whichever benchmark imports JAX first
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

#: name → module with ``run(config) -> list[Table]``, in the order they run: the ones that
#: fork (symdl's time budgets) before the ones that import JAX, which starts threads
BENCHMARKS = {
    "fd_accuracy": "benchmarks.fd_accuracy",
    "planted_bugs": "benchmarks.planted_bugs",
    "stability": "benchmarks.stability",
    "backprop_depth": "benchmarks.backprop_depth",
    "symbolic_diff": "benchmarks.symbolic_diff",
    "peers_accuracy": "benchmarks.peers_accuracy",
    "peers_cost": "benchmarks.peers_cost",
    "peers_bugs": "benchmarks.peers_bugs",
    "backprop_speed": "benchmarks.backprop_speed",
}
RESULTS = Path(__file__).parent / "results"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one trial")
    parser.add_argument("--trials", type=int, default=None, help="trials per configuration")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=60.0, help="cost: seconds per method")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark named {unknown[0]!r}; benchmarks are {', '.join(BENCHMARKS)}")
    if args.trials is not None and args.trials < 1:
        parser.error(f"--trials must be at least 1, got {args.trials}")
    config = Config(quick=args.quick, trials=args.trials, seed=args.seed, budget=args.budget)
    info = stamp(versions())
    for name in [n for n in BENCHMARKS if n in args.names or not args.names]:
        start = time.perf_counter()
        tables = importlib.import_module(BENCHMARKS[name]).run(config)
        paths = write(tables, name, args.out, info)
        for table in tables:
            print(table.markdown(info))
        seconds = time.perf_counter() - start
        print(f"[{name}: {seconds:.1f} s; wrote {paths[0]} and {paths[1]}]\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
