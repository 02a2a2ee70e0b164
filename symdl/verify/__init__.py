"""The verification core: checks that return a :class:`Report` with a verdict."""

from symdl.verify.check import check_derivative, check_identity
from symdl.verify.gradcheck import gradcheck
from symdl.verify.report import Entry, Evidence, Kink, Report

__all__ = [
    "Entry",
    "Evidence",
    "Kink",
    "Report",
    "check_derivative",
    "check_identity",
    "gradcheck",
]
