"""``symdl prove --dask ADDRESS``: the same units on a dask.distributed cluster, with the
per-proof budget working on daemonic (nanny-started) workers; a clear error without dask."""

import dataclasses
import multiprocessing
import struct
import sys
import textwrap
import zlib

import pytest

from symdl.cli import main
from symdl.errors import SymdlError
from symdl.proofbook import discover, distributed, run_proofs
from symdl.proofbook.distributed import ProofUnit, run_unit
from symdl.proofbook.unit_process import close_helper

BOOK = '''
"""Proofs for the cluster."""

import time

from symdl import check_derivative, check_identity, proof
from symdl.proofbook import Figure

PNG = {png!r}


@proof("Pythagoras", statement="sin² + cos² = 1", tags=["cluster"])
def pythagoras():
    # the symbolic step runs under symdl.budget, which forks: on a daemonic worker that
    # needs the unit's own process
    return check_identity("sin(x)**2 + cos(x)**2", "1")


@proof("Off by a factor", statement="d/dx x³ = 2x²")
def off_by_a_factor():
    return check_derivative("x**3", "x", "2*x**2")


@proof("Raises", statement="-")
def raises():
    raise RuntimeError("on purpose")


@proof("Sleeps", statement="never ends in time")
def sleeps():
    time.sleep(60)
    return check_identity("a", "a")


@proof("Talks and draws", statement="a = a")
def talks():
    print("printed by a proof: not part of the answer")
    return [check_identity("a", "a"), Figure("tiny", "c", png=PNG)]
'''


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("dask.distributed")
    # processes=True with a nanny: the workers are daemonic processes, as in production
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def png():
    """A 1×1 grey PNG (PNG spec., §5, §11)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\x00\x80"))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def folder_with_book(tmp_path):
    folder = tmp_path / "proofs"
    folder.mkdir()
    (folder / "cluster.py").write_text(textwrap.dedent(BOOK.format(png=png())))
    return folder


def test_the_workers_are_daemonic(cluster):
    from dask.distributed import Client

    with Client(cluster, set_as_default=False) as client:
        daemonic = client.run(lambda: multiprocessing.current_process().daemon)
    assert set(daemonic.values()) == {True}  # so a fork there would be refused


def test_the_cluster_gives_the_local_verdicts(tmp_path, cluster):
    proofs = discover(folder_with_book(tmp_path))
    remote = run_proofs(proofs, timeout=5, dask=cluster.scheduler_address)
    local = run_proofs(proofs, jobs=2, timeout=5)
    assert [r.proof.key for r in remote] == [p.key for p in proofs]
    verdicts = {r.proof.name: r.verdict for r in remote}
    assert verdicts == {r.proof.name: r.verdict for r in local}
    assert verdicts == {
        "pythagoras": "proved",
        "off_by_a_factor": "refuted",
        "raises": "error",
        "sleeps": "undecided",
        "talks": "proved",
    }
    by_name = {r.proof.name: r for r in remote}
    evidence = by_name["pythagoras"].reports[0].evidence
    assert ("symbolic", "proved") in [(e.method, e.outcome) for e in evidence]
    assert "RuntimeError: on purpose" in by_name["raises"].error
    assert "budget of 5 s ran out" in by_name["sleeps"].note
    assert by_name["sleeps"].seconds < 30
    assert by_name["talks"].figures == next(r for r in local if r.proof.name == "talks").figures


def test_the_cli_runs_on_the_cluster_and_caches(tmp_path, cluster, capsys):
    folder = folder_with_book(tmp_path)
    args = ["prove", str(folder), "-k", "pythagoras", "-o", str(tmp_path / "report")]
    args += ["--cache", str(tmp_path / "cache"), "--dask", cluster.scheduler_address]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"on the dask cluster at {cluster.scheduler_address}; 0 results" in out
    assert main(args) == 0
    assert "1 results from the cache" in capsys.readouterr().out
    assert "Pythagoras" in (tmp_path / "report" / "index.html").read_text()


def test_a_unit_carries_its_source_and_runs_without_the_folder(tmp_path, monkeypatch):
    folder = folder_with_book(tmp_path)
    (proof,) = [p for p in discover(folder) if p.name == "off_by_a_factor"]
    unit = ProofUnit.of(proof, 30.0)
    (folder / "cluster.py").unlink()  # the worker never reads the proofs folder
    monkeypatch.chdir(tmp_path)  # nor needs to run where the book was discovered
    try:
        outcome, seconds, note = run_unit(unit)
    finally:
        close_helper()
    verdict, reports, _, _, error = outcome
    assert verdict == "refuted" and not error and not note and seconds > 0
    assert reports[0].counterexample


HELPER = """
import os
import signal
import time

from symdl import Report, proof

if os.environ.get("SYMDL_TEST_HANG_ON_IMPORT"):
    time.sleep(60)


@proof("Whose child", statement="-")
def whose_child():
    return Report("proved", f"helper {os.getppid()}", "process")


@proof("Kills its helper", statement="-")
def kills_its_helper():
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(5)
"""


def helper_units(tmp_path):
    (tmp_path / "helper.py").write_text(HELPER)
    return {p.name: ProofUnit.of(p, 30.0) for p in discover(tmp_path / "helper.py")}


def test_a_thread_reuses_its_helper_and_replaces_a_dead_one(tmp_path):
    units = helper_units(tmp_path)
    try:
        first = run_unit(units["whose_child"])[0][1][0].claim
        assert run_unit(units["whose_child"])[0][1][0].claim == first  # no new interpreter
        outcome, _, _ = run_unit(units["kills_its_helper"])
        assert outcome[0] == "error" and "helper process ended without an answer" in outcome[4]
        again = run_unit(units["whose_child"])[0][1][0].claim
        assert again.startswith("helper ") and again != first
    finally:
        close_helper()


def test_a_helper_that_hangs_outside_the_budget_is_killed(tmp_path, monkeypatch):
    units = helper_units(tmp_path)
    monkeypatch.setenv("SYMDL_TEST_HANG_ON_IMPORT", "1")  # the import runs unbudgeted
    monkeypatch.setattr(distributed, "GRACE", 1.0)
    unit = dataclasses.replace(units["whose_child"], timeout=1.0)
    try:
        outcome, seconds, note = run_unit(unit)
    finally:
        close_helper()
    assert outcome[0] == "undecided" and "its process was killed" in note
    assert 2.0 <= seconds < 30


def test_a_proof_not_from_a_file_cannot_be_sent(tmp_path):
    from symdl.proofbook import Proof

    with pytest.raises(ValueError, match="not discovered in a file"):
        ProofUnit.of(Proof("t", "s", lambda: []), None)


def test_without_dask_the_cli_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    folder = folder_with_book(tmp_path)
    code = main(["prove", str(folder), "-k", "pythagoras", "--dask", "tcp://127.0.0.1:1"])
    assert code == 3
    assert "pip install 'dask[distributed]'" in capsys.readouterr().err
    with pytest.raises(SymdlError, match="dask"):
        run_proofs(discover(folder), dask="tcp://127.0.0.1:1")


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    import dask

    folder = folder_with_book(tmp_path)
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = main(["prove", str(folder), "-k", "pythagoras", "--dask", "tcp://127.0.0.1:9"])
    assert code == 3
    assert "could not reach the dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
