"""Design spaces: metaparameters in, ArchSpec out (one file per family)."""

from nas_space.spaces import squeeze, staged  # noqa: F401  (fill the registry)
from nas_space.spaces.base import SPACES, Axis, Space, get_space, list_spaces, register_space

__all__ = ["SPACES", "Axis", "Space", "get_space", "list_spaces", "register_space"]
