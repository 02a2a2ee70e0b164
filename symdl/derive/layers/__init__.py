"""Layers as data (:mod:`symdl.derive.layers.base`) and the registry of every layer kind.

Importing the package imports each of its modules, and each module registers the kinds
it defines in :data:`LAYERS`: dense and the catalogue's elementwise activations
(:mod:`~symdl.derive.layers.dense`), the losses (:mod:`~symdl.derive.layers.losses`),
and the rest, one module per family of layers.
"""

import importlib
import pkgutil

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.check import block_function, check_code, check_rule

__all__ = [
    "LAYERS",
    "Block",
    "Equation",
    "LayerKind",
    "Shape",
    "Slot",
    "Wiring",
    "block_function",
    "check_code",
    "check_rule",
]

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
