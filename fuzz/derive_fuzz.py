"""A long fuzz campaign of the step-by-step differentiator: ``python fuzz/derive_fuzz.py
--examples N --seed S [--out FILE]``.

The same random expression trees (depth ≤ 6) and the same judgement as
``tests/test_derive_steps_fuzz.py``, for as many draws as asked and without stopping at
the first failure: every draw is counted (no rule fell back to SymPy, no step refuted,
undecided steps, the final claim's verdict against ``sympy.diff``) and every failure is
kept with its expression. Run several seeds in parallel to use several cores; the counts
add up.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sympy as sp  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from symdl.derivation import mathematical_verdict  # noqa: E402
from symdl.derive.steps import derive  # noqa: E402
from symdl.parse import parse  # noqa: E402
from symdl.verify import check_identity  # noqa: E402
from tests.test_derive_steps_fuzz import _KINKED, _trees  # noqa: E402

x = sp.Symbol("x", real=True)


def judge(text: str) -> dict[str, object]:
    f = parse(text)
    d = derive(f, "x", simplify=False).verify(points=4, timeout=10.0)
    kind = "kinked" if f.has(*_KINKED) else "smooth"
    statuses = [s.status for s in d.steps]
    out: dict[str, object] = {
        "kind": kind,
        "fallbacks": list(d.fallbacks),
        "failed": list(d.failed_steps),
        "undecided_steps": statuses.count("undecided"),
        "steps": len(statuses),
    }
    try:
        report = check_identity(d.result, sp.diff(f, x), points=4, timeout=10.0)
        truth = mathematical_verdict(report)
        if kind == "smooth" and truth != "proved":
            report = check_identity(d.result, sp.diff(f, x), points=4, timeout=120.0)
            truth = mathematical_verdict(report)
    except ValueError as err:
        truth = f"checker failed: {err}"
    out["final"] = truth
    out["ok"] = (
        not d.fallbacks
        and not d.failed_steps
        and (truth == "proved" if kind == "smooth" else truth in ("proved", "verified"))
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    counts: collections.Counter[str] = collections.Counter()
    failures: list[dict[str, object]] = []
    start = time.perf_counter()

    @seed(args.seed)
    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_trees(6).filter(lambda t: "x" in t and len(t) < 160))
    def campaign(text: str) -> None:
        result = judge(text)
        counts["draws"] += 1
        counts[f"{result['kind']}: final {result['final']}"] += 1
        counts["steps"] += int(result["steps"])  # type: ignore[call-overload]
        counts["undecided steps"] += int(result["undecided_steps"])  # type: ignore[call-overload]
        counts["fallbacks"] += len(result["fallbacks"])  # type: ignore[arg-type]
        counts["failed steps"] += len(result["failed"])  # type: ignore[arg-type]
        if not result["ok"]:
            failures.append({"text": text, **result})
        if args.out:  # after every draw, so a campaign stopped early still counts
            args.out.write_text(_summary(args, counts, failures, start) + "\n")

    campaign()
    text = _summary(args, counts, failures, start)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 1 if failures else 0


def _summary(
    args: argparse.Namespace,
    counts: collections.Counter[str],
    failures: list[dict[str, object]],
    start: float,
) -> str:
    summary = {
        "seed": args.seed,
        "examples asked": args.examples,
        "seconds": round(time.perf_counter() - start, 1),
        "counts": dict(counts),
        "failures": failures,
    }
    return json.dumps(summary, indent=2, default=str)


if __name__ == "__main__":
    raise SystemExit(main())
