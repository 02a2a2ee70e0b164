"""symdl's pytest plugin, run in fresh pytest processes (pytester): opt-in profiles, the
symdl_report fixture, and the worked examples."""

from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "test_examples.py"

PROFILE_PROBE = """
from hypothesis import settings

def test_profile():
    print("max_examples", settings().max_examples)
"""


def test_plugin_is_registered_by_entry_point():
    found = [e for e in entry_points(group="pytest11") if e.name == "symdl"]
    assert [e.value for e in found] == ["symdl_pytest"]


def test_without_the_option_nothing_changes(pytester):
    pytester.makepyfile(PROFILE_PROBE)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*max_examples 100"])  # hypothesis's own default
    result.stdout.no_fnmatch_line("*symdl: hypothesis profile*")


@pytest.mark.parametrize(("profile", "examples"), [("symdl-quick", 25), ("symdl-thorough", 500)])
def test_symdl_profile_option_loads_the_profile(pytester, profile, examples):
    pytester.makepyfile(PROFILE_PROBE)
    result = pytester.runpytest_subprocess(
        "-s", "-p", "no:cacheprovider", f"--symdl-profile={profile}"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"symdl: hypothesis profile {profile}", f"*max_examples {examples}"]
    )


def test_unknown_profile_is_a_usage_error(pytester):
    pytester.makepyfile(PROFILE_PROBE)
    result = pytester.runpytest_subprocess("--symdl-profile=fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid choice: 'fast'*"])


REPORT_TESTS = """
import symdl

def test_recorded_and_failing(symdl_report):
    report = symdl_report(symdl.check_derivative("logdet(X)", "X", "inv(X)", shapes={"X": "3x3"}))
    assert report.ok

def test_recorded_and_passing(symdl_report):
    assert symdl_report(symdl.check_derivative("x**2", "x", "2*x")).ok

def test_failing_without_the_fixture():
    assert 1 == 2

def test_recording_something_else(symdl_report):
    symdl_report("not a report")
"""


def test_symdl_report_attaches_reports_to_failures_only(pytester):
    pytester.makepyfile(REPORT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    # the failing test shows its report, with the diagnosis
    section = out.split("symdl reports")[1]
    assert "refuted: d/dX logdet(X) == inv(X)" in section
    assert "diagnosis: the claim equals the true gradient transposed" in section
    # the passing test's report and the fixture-less test add no section
    assert out.count("symdl reports") == 1
    assert "proved: d/dx x**2" not in out
    assert "symdl_report records symdl Reports, got str" in out


def test_worked_examples_run_and_the_buggy_one_shows_its_diagnosis(pytester):
    pytester.makepyfile(test_examples=EXAMPLES.read_text())
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--symdl-profile=symdl-quick", "-rxs"
    )
    # torch is not a dependency: its example runs where torch is installed (the bench
    # extra) and is skipped elsewhere; the buggy layer is an xfail
    try:
        import torch  # noqa: F401
    except ImportError:
        result.assert_outcomes(passed=5, skipped=1, xfailed=1)
    else:
        result.assert_outcomes(passed=6, xfailed=1)
    # and with --runxfail the buggy layer fails with the report (what the README shows)
    buggy = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--symdl-profile=symdl-quick", "--runxfail", "-k", "buggy"
    )
    buggy.assert_outcomes(failed=1)
    buggy.stdout.fnmatch_lines(
        [
            "*Mismatch: refuted: layer gamma*(x - mean(x))*",
            "*counterexample:*",
            "*diagnosis: the claim equals the gradient with mean(x) held constant: the term "
            "that flows back through mean(x) is missing*",
        ]
    )


def test_the_plugin_does_not_import_symdl_until_asked():
    """Every pytest run in an environment with symdl installed loads the plugin; it must not
    pay for SymPy and SciPy there."""
    import subprocess
    import sys

    probe = (
        "import sys, symdl_pytest; print(sorted({'symdl', 'sympy', 'scipy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
