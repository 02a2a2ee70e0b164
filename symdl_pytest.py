"""symdl's pytest plugin (entry point ``pytest11``): opt-in profiles and a report fixture.

It is a top-level module, not part of the ``symdl`` package, so that every pytest run in
an environment with symdl installed does not pay for importing symdl (SymPy, SciPy):
symdl is imported only when a test records a report or asks for a profile.

Nothing here changes a run unless asked:

- ``--symdl-profile=symdl-quick`` or ``symdl-thorough`` loads that hypothesis profile
  (:data:`symdl.strategies.PROFILES`); without the option, hypothesis is not even imported;
- the ``symdl_report`` fixture records :class:`~symdl.verify.report.Report` objects; when
  the test fails, they are added to its failure output under "symdl reports". Tests that
  do not request the fixture are untouched.

Failures raised by :mod:`symdl.testing` already carry the report as their message.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from symdl.verify.report import Report

__all__ = ["ReportRecorder"]

_PROFILES = ("symdl-quick", "symdl-thorough")
_RECORDER = pytest.StashKey["ReportRecorder"]()


class ReportRecorder:
    """Collects reports for one test; call it with a report to record it (returned)."""

    def __init__(self) -> None:
        self.reports: list[Report] = []

    def __call__(self, report: Report) -> Report:
        from symdl.verify.report import Report

        if not isinstance(report, Report):
            raise TypeError(f"symdl_report records symdl Reports, got {type(report).__name__}")
        self.reports.append(report)
        return report

    def text(self) -> str:
        return "\n\n".join(str(r) for r in self.reports)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("symdl")
    group.addoption(
        "--symdl-profile",
        action="store",
        choices=_PROFILES,
        default=None,
        help="load symdl's hypothesis profile: symdl-quick (25 examples) or "
        "symdl-thorough (500 examples); default: leave hypothesis settings alone",
    )


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("symdl_profile", None)
    if name:
        from symdl.strategies import load_profile

        load_profile(name)


def pytest_report_header(config: pytest.Config) -> str | None:
    name = config.getoption("symdl_profile", None)
    return f"symdl: hypothesis profile {name}" if name else None


@pytest.fixture
def symdl_report(request: pytest.FixtureRequest) -> ReportRecorder:
    """Record symdl reports (``symdl_report(symdl.check_derivative(...))``); they are shown
    with the test's failure, and only then."""
    recorder = ReportRecorder()
    request.node.stash[_RECORDER] = recorder
    return recorder


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator:
    outcome: Any = yield
    report = outcome.get_result()
    recorder = item.stash.get(_RECORDER, None)
    if recorder is not None and recorder.reports and report.failed and report.when == "call":
        report.sections.append(("symdl reports", recorder.text()))
