import time

import pytest
import sympy as sp

from symdl.budget import run_with_budget
from symdl.errors import BudgetExceeded, SymdlError


def _sleep_forever():
    while True:
        time.sleep(0.05)


def _boom():
    raise RuntimeError("kaput")


def test_result_comes_back():
    x = sp.Symbol("x")
    assert run_with_budget(sp.simplify, sp.sin(x) ** 2 + sp.cos(x) ** 2, timeout=30) == 1


def test_work_that_does_not_return_is_stopped():
    start = time.monotonic()
    with pytest.raises(BudgetExceeded, match=r"within 0\.3 s"):
        run_with_budget(_sleep_forever, timeout=0.3)
    assert time.monotonic() - start < 10  # stopped, not waited for


def test_errors_in_the_child_are_reported():
    with pytest.raises(SymdlError, match="kaput"):
        run_with_budget(_boom, timeout=10)


def test_no_budget_left():
    with pytest.raises(BudgetExceeded):
        run_with_budget(_boom, timeout=0)
