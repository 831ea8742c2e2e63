"""Every classic network as a preset ArchSpec (one file per family)."""

from nas_space.presets import (  # noqa: F401  (fill the registry)
    mobilenet,
    resnet,
    shufflenet,
    squeezenet,
    xception,
)
from nas_space.presets.base import (
    PRESETS,
    SMALL_INPUT,
    Shape,
    get_preset,
    list_presets,
    register_preset,
)

__all__ = ["PRESETS", "SMALL_INPUT", "Shape", "get_preset", "list_presets", "register_preset"]
