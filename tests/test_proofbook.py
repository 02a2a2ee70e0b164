"""The proof runner: discovery, selection, verdicts, the worker pool, budgets, the cache."""

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from symdl.proofbook import (
    ResultCache,
    discover,
    proof,
    render_markdown,
    run_proofs,
    select,
)
from symdl.proofbook.book import Proof

PROOFS = Path(__file__).resolve().parent.parent / "proofs"

SAMPLE = """
from symdl import check_derivative, proof

@proof("right", statement="d/dx x^2 = 2x", tags=["easy"])
def right():
    return check_derivative("x**2", "x", "2*x")

@proof("wrong", statement="d/dx x^2 = x")
def wrong():
    return [check_derivative("x**2", "x", "2*x"), check_derivative("x**2", "x", "x")]

@proof("broken", statement="raises")
def broken():
    raise RuntimeError("oops")

@proof("empty", statement="returns nothing")
def empty():
    return []

def not_a_proof():
    return None
"""


def write(folder, name, body):
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


def test_failures_and_errors_are_reported_not_raised(tmp_path):
    write(tmp_path, "sample.py", SAMPLE)
    results = {r.proof.name: r for r in run_proofs(discover(tmp_path))}
    assert set(results) == {"right", "wrong", "broken", "empty"}
    assert results["right"].verdict == "proved" and results["right"].ok
    assert results["wrong"].verdict == "refuted" and len(results["wrong"].reports) == 2
    assert results["broken"].verdict == "error" and "oops" in results["broken"].error
    assert results["empty"].verdict == "error" and "non-empty" in results["empty"].error
    text = render_markdown(list(results.values()))
    assert "# The symdl proof book" in text and "**refuted**" in text and "oops" in text


def test_the_pool_gives_the_same_verdicts_in_the_same_order(tmp_path):
    write(tmp_path, "sample.py", SAMPLE)
    proofs = discover(tmp_path)
    here = run_proofs(proofs)
    pooled = run_proofs(proofs, jobs=2, timeout=60)
    assert [r.proof.key for r in pooled] == [p.key for p in proofs]
    assert [r.verdict for r in pooled] == [r.verdict for r in here]
    assert pooled[0].reports[0].claim == here[0].reports[0].claim


def test_a_proof_over_budget_is_undecided_and_stopped_with_its_children(tmp_path):
    marker = tmp_path / "child.pid"
    write(
        tmp_path,
        "slow.py",
        f"""
        import subprocess, time
        from symdl import check_identity, proof

        @proof("slow", statement="sleeps")
        def slow():
            child = subprocess.Popen(["sleep", "300"])
            open({str(marker)!r}, "w").write(str(child.pid))
            time.sleep(300)
            return check_identity("x", "x")
        """,
    )
    (result,) = run_proofs(discover(tmp_path), jobs=2, timeout=1.5)
    assert result.verdict == "undecided" and not result.reports
    assert "time budget of 1.5 s" in result.note
    pid = int(marker.read_text())
    for _ in range(100):  # the killed child is reaped by init; wait until it is gone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the proof's child process {pid} outlived the proof")


def test_a_worker_that_dies_is_an_error(tmp_path):
    write(
        tmp_path,
        "dies.py",
        """
        import os
        from symdl import proof

        @proof("dies", statement="exits")
        def dies():
            os._exit(3)
        """,
    )
    (result,) = run_proofs(discover(tmp_path), jobs=1, timeout=30)
    assert result.verdict == "error" and "died" in result.error


def test_cache_reuses_decisive_results_until_the_file_changes(tmp_path):
    folder = tmp_path / "proofs"
    folder.mkdir()
    path = write(folder, "sample.py", SAMPLE)
    cache = ResultCache(tmp_path / "cache")
    first = run_proofs(discover(folder), cache=cache)
    assert not any(r.cached for r in first)
    second = {r.proof.name: r for r in run_proofs(discover(folder), cache=cache)}
    assert second["right"].cached and second["wrong"].cached
    assert second["wrong"].verdict == "refuted"
    assert second["wrong"].reports == first[1].reports
    assert not second["broken"].cached  # errors are run again
    path.write_text(path.read_text() + "\n# changed\n")
    third = run_proofs(discover(folder), cache=cache)
    assert not any(r.cached for r in third)


def test_a_shared_module_beside_the_proofs_is_part_of_the_key(tmp_path):
    folder = tmp_path / "proofs"
    folder.mkdir()
    write(folder, "_shared.py", "N = 1\n")
    write(folder, "sample.py", SAMPLE)
    cache = ResultCache(tmp_path / "cache")
    run_proofs(discover(folder), cache=cache)
    assert run_proofs(discover(folder), cache=cache)[0].cached
    write(folder, "_shared.py", "N = 2\n")
    assert not run_proofs(discover(folder), cache=cache)[0].cached


def test_a_damaged_cache_entry_is_a_miss(tmp_path):
    write(tmp_path, "sample.py", SAMPLE)
    cache = ResultCache(tmp_path / "cache")
    run_proofs(discover(tmp_path), cache=cache)
    for entry in (tmp_path / "cache").glob("*.json"):
        entry.write_text("{not json")
    assert not any(r.cached for r in run_proofs(discover(tmp_path), cache=cache))
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_cached_entries_are_json(tmp_path):
    write(tmp_path, "sample.py", SAMPLE)
    cache = ResultCache(tmp_path / "cache")
    run_proofs(discover(tmp_path), cache=cache)
    files = [p for p in (tmp_path / "cache").glob("*.json") if p.name != "timings.json"]
    entries = [json.loads(p.read_text()) for p in files]
    assert sorted(e["verdict"] for e in entries) == ["proved", "refuted"]


def test_select_matches_key_title_and_tags(tmp_path):
    write(tmp_path, "sample.py", SAMPLE)
    proofs = discover(tmp_path)
    assert [p.name for p in select(proofs, "EASY")] == ["right"]
    assert [p.name for p in select(proofs, "sample::wro")] == ["wrong"]
    assert select(proofs, "nothing-like-this") == []


def test_discover_takes_files_and_refuses_missing_paths(tmp_path):
    path = write(tmp_path, "sample.py", SAMPLE)
    assert len(discover(path)) == 4
    assert len(discover(path, tmp_path)) == 4  # a file named twice is read once
    with pytest.raises(FileNotFoundError):
        discover(tmp_path / "nope")


def test_bad_options_are_value_errors():
    p = Proof("t", "s", lambda: [])
    with pytest.raises(ValueError):
        run_proofs([p], jobs=0)
    with pytest.raises(ValueError):
        run_proofs([p], timeout=0)


def test_the_decorator_only_marks():
    @proof("T", statement="S", references=["R"], tags=["a"])
    def f():
        return []

    marked = f.__symdl_proof__
    assert (marked.title, marked.statement, marked.references, marked.tags) == (
        "T",
        "S",
        ("R",),
        ("a",),
    )


def test_a_file_that_does_not_import_is_one_error_and_the_book_goes_on(tmp_path):
    write(tmp_path, "a_broken.py", "import no_such_module_here\n")
    write(tmp_path, "sample.py", SAMPLE)
    proofs = discover(tmp_path)
    assert [p.name for p in proofs][:2] == ["<import>", "right"]
    (broken, *rest) = run_proofs(proofs, jobs=2, timeout=60)
    assert broken.verdict == "error" and "no_such_module_here" in broken.error
    assert "a_broken.py could not be imported" in broken.error
    assert rest[0].verdict == "proved"


def test_sigterm_stops_the_workers_too(tmp_path):
    import signal
    import subprocess
    import sys

    marker = tmp_path / "worker.pid"
    write(
        tmp_path,
        "slow.py",
        f"""
        import os, time
        from symdl import proof

        @proof("slow", statement="sleeps")
        def slow():
            open({str(marker)!r}, "w").write(str(os.getpid()))
            time.sleep(300)
        """,
    )
    script = (
        "from symdl.proofbook import discover, run_proofs\n"
        f"run_proofs(discover({str(tmp_path)!r}), jobs=1, timeout=300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(400):
            if marker.exists() and marker.read_text():
                break
            time.sleep(0.05)
        worker = int(marker.read_text())
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 128 + signal.SIGTERM
        for _ in range(100):
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"worker {worker} outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_longest_proofs_start_first_and_results_keep_their_order(tmp_path):
    write(tmp_path, "sample.py", SAMPLE)
    cache = ResultCache(tmp_path / "cache")
    proofs = discover(tmp_path)
    (tmp_path / "cache").mkdir()
    hints = {"sample::right": 1.0, "sample::wrong": 9.0, "sample::broken": 5.0}
    (tmp_path / "cache" / "timings.json").write_text(json.dumps(hints))
    started = []
    results = run_proofs(
        proofs, jobs=1, timeout=60, cache=cache, progress=lambda r, *_: started.append(r)
    )
    # one job at a time: finishing order is starting order; no hint (empty) counts as longest
    assert [r.proof.name for r in started] == ["empty", "wrong", "broken", "right"]
    assert [r.proof.name for r in results] == ["right", "wrong", "broken", "empty"]
    timings = cache.timings()
    assert set(timings) == set(hints) | {"sample::empty"}
    assert timings["sample::wrong"] == results[1].seconds
    (tmp_path / "cache" / "timings.json").write_text("[1, 2]")
    assert cache.timings() == {}


STEPS = """
from symdl import check_derivative, proof
from symdl.derive.steps import derive

@proof("gelu by steps", statement="step by step")
def gelu_steps():
    return [derive("gelu(x)", "x"), check_derivative("x**2", "x", "2*x")]
"""


def test_derivations_are_checked_and_kept_as_records_through_pool_and_cache(tmp_path):
    folder = tmp_path / "proofs"
    folder.mkdir()
    write(folder, "steps.py", STEPS)
    cache = ResultCache(tmp_path / "cache")
    # gelu's derivation holds catalogue nodes that do not pickle: records cross the pipe
    (result,) = run_proofs(discover(folder), jobs=1, timeout=120, cache=cache)
    assert result.verdict == "proved", result.error
    (record,) = result.derivations
    assert record.verdict == "proved" and record.sentence.startswith("Proved")
    assert "aligned" in record.markdown and record.latex.startswith(r"\begin{align*}")
    assert len(result.reports) == 2  # the check, and the derivation's final claim
    (again,) = run_proofs(discover(folder), cache=cache)
    assert again.cached and again.derivations == result.derivations
