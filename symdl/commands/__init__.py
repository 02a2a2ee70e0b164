"""Sub-commands of ``symdl`` that live in their own modules.

Each public module here defines ``register(commands)``, which adds its sub-parser to the
``argparse`` sub-parsers object and sets ``run=<function(args) -> exit code>`` as the
parser's default. ``symdl.cli`` registers every module it finds here, in name order.
Modules whose names start with ``_`` are shared plumbing, not commands.
"""
