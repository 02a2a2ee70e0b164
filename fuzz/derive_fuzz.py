"""A long fuzz campaign of the step-by-step differentiator.

``python fuzz/derive_fuzz.py --examples N --seed S [--out FILE.jsonl]`` draws the same
random expression trees (depth ≤ 6) and judges them as ``tests/test_derive_steps_fuzz.py``
does, for as many draws as asked and without stopping at the first failure: every draw is
counted (rules that fell back to SymPy, steps refuted, steps undecided, the final claim's
verdict against ``sympy.diff``) and every failure is kept with its expression.

``--out`` writes JSON lines and flushes after every draw — a ``start`` record, one
``draw`` record per draw, an ``end`` record — so a campaign stopped at any time keeps
what it counted. Run several seeds in parallel to use several cores, then add the files
up with ``python fuzz/derive_fuzz.py --summarise FILE.jsonl ...``.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
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
from symdl.verify.sign_region import settled_kinks  # noqa: E402
from tests.test_derive_steps_fuzz import _KINKED, _mentions_x, _trees  # noqa: E402

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
    out["final"], out["reference"] = final_verdict(f, d.result, kind)
    out["ok"] = _ok(out)
    return out


def final_verdict(f: sp.Expr, result: sp.Expr, kind: str) -> tuple[str, str]:
    r"""The verdict on ``result == sympy.diff(f, x)``: everywhere for a smooth draw, away
    from the kinks for a kinked one (where both are derivatives; their values at a kink are
    conventions). A claim not proved in 10 s gets 120 s. Returned with the reference it
    was judged against: ``sympy.diff`` of ``f``, or — where that is not proved and ``f``
    has kinks of constant sign — of the same function with them settled
    (``settled_kinks``): SymPy's derivative of :math:`|\min(0, 2 + \sin x)|` is
    :math:`u u'/|u|` with :math:`u \equiv 0`, defined nowhere."""
    verdict = _against(result, sp.diff(f, x), kind)
    settled = settled_kinks(f)
    if verdict.startswith("proved") or settled == f:
        return verdict, "sympy.diff"
    again = _against(result, sp.diff(settled, x), kind)
    if again.startswith("proved"):
        return again, "sympy.diff with kinks of constant sign settled"
    return verdict, "sympy.diff"


def _against(result: sp.Expr, reference: sp.Expr, kind: str) -> str:
    kinks = "excluded" if kind == "kinked" else "included"
    try:
        report = check_identity(result, reference, points=4, timeout=10.0, kinks=kinks)
        truth = mathematical_verdict(report)
        if truth != "proved":
            report = check_identity(result, reference, points=4, timeout=120.0, kinks=kinks)
            truth = mathematical_verdict(report)
    except ValueError as err:
        return f"checker failed: {err}"
    if truth == "proved" and report.method.endswith("away from kinks"):
        return "proved away from kinks"
    return truth


def _ok(r: dict[str, object]) -> bool:
    """No rule fell back, no step failed, and the final claim is proved (a kinked one
    at least away from the kinks)."""
    proved = ("proved", "proved away from kinks")
    return not r["fallbacks"] and not r["failed"] and r["final"] in proved


def rejudge(path: Path) -> Path:
    """``path`` with the final claim of every draw not proved judged again by today's
    checker (the differentiator must be the campaign's), and every step too where a
    step's check was undecided, written beside it as ``….rejudged.jsonl``; each record
    changed keeps its old verdicts."""
    out = path.with_suffix(".rejudged.jsonl")
    if out.exists() and out.stat().st_size:
        raise SystemExit(f"{out} exists: remove it to judge again")
    with out.open("w") as sink:
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written as we read
            if record.get("type") == "draw" and record["undecided_steps"]:
                # a step's check undecided: every step and the final claim again
                earlier = {k: record[k] for k in ("final", "undecided_steps")}
                record.update(_draw_record(str(record["text"])))
                record["earlier"] = earlier
            elif (
                record.get("type") == "draw"
                and record["kind"] in ("smooth", "kinked")
                and not str(record["final"]).startswith("proved")
            ):
                f = parse(str(record["text"]))
                result = derive(f, "x", simplify=False).result
                record["earlier final"] = record["final"]
                record["final"], record["reference"] = final_verdict(f, result, str(record["kind"]))
                record["ok"] = _ok(record)
            sink.write(json.dumps(record, default=str) + "\n")
            sink.flush()
    return out


def _commit() -> str:
    """The checkout's commit (with ``+`` if it has changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "symdl"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+" if dirty else "")


def _draw_record(text: str) -> dict[str, object]:
    try:
        result = judge(text)
    except Exception as err:  # a crash of the differentiator or checker is a failure too
        result = {"kind": "error", "final": f"{type(err).__name__}: {err}", "fallbacks": []}
        result.update(failed=[], undecided_steps=0, steps=0, ok=False)
    return {"type": "draw", "text": text, **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON lines, one per draw")
    parser.add_argument(
        "--summarise", type=Path, nargs="+", metavar="FILE", help="add up campaign files"
    )
    parser.add_argument(
        "--rejudge",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="judge the final claims not proved again, into FILE.rejudged.jsonl",
    )
    args = parser.parse_args(argv)
    if args.rejudge:
        for path in args.rejudge:
            print(rejudge(path))
        return 0
    if args.summarise:
        summary = summarise(args.summarise)
        print(json.dumps(summary, indent=2, default=str))
        return 1 if summary["failures"] else 0
    if args.out is not None and args.out.exists() and args.out.stat().st_size:
        parser.error(f"{args.out} exists: give a new file (campaigns are added up later)")
    out = None
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        out = args.out.open("w")
    records: list[dict[str, object]] = []
    start = time.perf_counter()

    def write(record: dict[str, object]) -> None:
        if out is not None:
            out.write(json.dumps(record, default=str) + "\n")
            out.flush()  # after every draw, so a campaign stopped early still counts

    write(
        {"type": "start", "seed": args.seed, "examples asked": args.examples, "commit": _commit()}
    )

    @seed(args.seed)
    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_trees(6).filter(lambda t: _mentions_x(t) and len(t) < 160))
    def campaign(text: str) -> None:
        t0 = time.perf_counter()
        record = _draw_record(text)
        record["seconds"] = round(time.perf_counter() - t0, 2)
        records.append(record)
        write(record)

    campaign()
    totals = _add_up(records)
    write({"type": "end", "seconds": round(time.perf_counter() - start, 1), **totals})
    if out is not None:
        out.close()
    summary = {"seed": args.seed, "examples asked": args.examples, **totals}
    print(json.dumps(summary, indent=2, default=str))
    return 1 if totals["failures"] else 0


def _add_up(draws: list[dict[str, object]]) -> dict[str, object]:
    """Counts over draw records, the rules that fell back, and the failing draws."""
    counts: collections.Counter[str] = collections.Counter()
    fallen: collections.Counter[str] = collections.Counter()
    failures = []
    for r in draws:
        counts["draws"] += 1
        counts[f"{r['kind']}: final {r['final']}"] += 1
        if r.get("reference", "sympy.diff") != "sympy.diff":
            counts[f"{r['kind']}: judged against {r['reference']}"] += 1
        counts["steps"] += int(r["steps"])  # type: ignore[call-overload]
        counts["undecided steps"] += int(r["undecided_steps"])  # type: ignore[call-overload]
        counts["fallbacks"] += len(r["fallbacks"])  # type: ignore[arg-type]
        counts["failed steps"] += len(r["failed"])  # type: ignore[arg-type]
        fallen.update(r["fallbacks"])  # type: ignore[arg-type, call-overload]
        if not r["ok"]:
            failures.append(r)
    return {"counts": dict(counts), "rules that fell back": dict(fallen), "failures": failures}


def summarise(paths: list[Path]) -> dict[str, object]:
    """The counts of several campaign files added up (a file still being written, or
    cut short, counts the draws it holds), with each file's draws and seconds."""
    draws: list[dict[str, object]] = []
    files = []
    for path in paths:
        mine = []
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written as we read
            if record.get("type") == "draw":
                mine.append(record)
        draws.extend(mine)
        seconds = sum(float(r["seconds"]) for r in mine)  # type: ignore[arg-type]
        files.append({"file": str(path), "draws": len(mine), "seconds": round(seconds, 1)})
    return {"files": files, **_add_up(draws)}


if __name__ == "__main__":
    raise SystemExit(main())
