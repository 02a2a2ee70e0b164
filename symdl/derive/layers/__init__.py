"""Layers as data (:mod:`symdl.derive.layers.base`) and the registry of every layer kind.

Importing the package registers the kinds: dense and the catalogue's elementwise
activations (:mod:`~symdl.derive.layers.dense`) and the losses
(:mod:`~symdl.derive.layers.losses`).
"""

from symdl.derive.layers import dense, losses
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
    "dense",
    "losses",
]
