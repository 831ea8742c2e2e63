"""The design space: specs in, nn.Module and cost out. Knows nothing of Optuna or data."""

from nas_space.blocks import BLOCKS, register_block
from nas_space.cost import Cost, CostRow, cost, cost_rows
from nas_space.network import build
from nas_space.presets import get_preset, list_presets, register_preset
from nas_space.registry import UnknownNameError
from nas_space.spaces import Space, get_space, list_spaces, register_space
from nas_space.spec import ArchSpec, BlockSpec, HeadSpec, StemSpec

__all__ = [
    "BLOCKS",
    "ArchSpec",
    "BlockSpec",
    "Cost",
    "CostRow",
    "HeadSpec",
    "Space",
    "StemSpec",
    "UnknownNameError",
    "build",
    "cost",
    "cost_rows",
    "get_preset",
    "get_space",
    "list_presets",
    "list_spaces",
    "register_block",
    "register_preset",
    "register_space",
]
