"""Ctrl-C during ``symdl prove``: exit 130, one line, and no report files left behind that
could pass for a finished book (the report is written only after every proof ends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

PROOFS = textwrap.dedent(
    """
    import time

    from symdl import check_derivative, proof


    @proof("Quick", statement="d/dx x**2 = 2x")
    def quick():
        return check_derivative("x**2", "x", "2*x")


    @proof("Slow", statement="takes its time")
    def slow():
        time.sleep(60)
        return check_derivative("x**3", "x", "3*x**2")
    """
)


def test_an_interrupted_run_leaves_no_report(tmp_path):
    folder = tmp_path / "proofs"
    folder.mkdir()
    (folder / "topic.py").write_text(PROOFS, encoding="utf-8")
    out = tmp_path / "report"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    child = subprocess.Popen(
        [sys.executable, "-m", "symdl", "prove", str(folder), "-o", str(out), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(6)  # both proofs have started; the quick one has finished
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "symdl: interrupted"
    leftovers = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert leftovers == []
    # the worker running the slow proof went with it
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(folder) not in ps
