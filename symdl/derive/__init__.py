"""Derivations: matrix reverse mode, variance through depth, approximation constructions.

Each module here is a stage of its own; import from the module (``symdl.derive.matrix``,
``symdl.derive.variance``, …) — the public names are re-exported by ``symdl``.
"""
