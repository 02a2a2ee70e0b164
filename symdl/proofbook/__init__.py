"""The proof book: discover the proofs in a folder, run them, and write the report.

A proof is a function decorated with :func:`proof` that returns a
:class:`~symdl.verify.report.Report` (or several, all of which must hold); see
:mod:`symdl.proofbook.book`. :func:`run_proofs` runs them, in a pool of workers with a
time budget each and a cache of unchanged results (:mod:`symdl.proofbook.runner`,
:mod:`symdl.proofbook.cache`), or on a dask.distributed cluster
(:mod:`symdl.proofbook.distributed`); :func:`render_markdown` and
:func:`symdl.render.report_html.render_html` write the report. A proof may return
:class:`Figure` records beside its reports; the report shows them.
"""

from symdl.proofbook.book import DerivationRecord, Proof, ProofResult, discover, proof, select
from symdl.proofbook.cache import ResultCache, default_cache_dir
from symdl.proofbook.figure import Figure
from symdl.proofbook.runner import default_jobs, run_proofs
from symdl.render.report_markdown import render_markdown

__all__ = [
    "DerivationRecord",
    "Figure",
    "Proof",
    "ProofResult",
    "ResultCache",
    "default_cache_dir",
    "default_jobs",
    "discover",
    "proof",
    "render_markdown",
    "run_proofs",
    "select",
]
