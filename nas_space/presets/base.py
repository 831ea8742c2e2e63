"""The preset registry: every classic network as an ArchSpec, at any input shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nas_space.layers import make_divisible
from nas_space.registry import Registry
from nas_space.spec import ArchSpec, StemSpec

#: Inputs of at most this many pixels a side get the small-input variant of a preset.
SMALL_INPUT = 64


@dataclass(frozen=True)
class Shape:
    """What a preset is built for: input channels, input size, classes, and width multiplier."""

    in_channels: int = 3
    input_size: int = 224
    num_classes: int = 1000
    width: float = 1.0

    @property
    def small(self) -> bool:
        return self.input_size <= SMALL_INPUT

    def w(self, channels: int, divisor: int = 8) -> int:
        """Scale a width by the multiplier (exact at 1.0), rounded to a multiple of divisor."""
        if self.width == 1.0:
            return channels
        return make_divisible(channels * self.width, divisor)

    def stem(self, large: StemSpec) -> StemSpec:
        """The paper's stem at ImageNet sizes; a 3x3/1 conv with no pool for small images."""
        if self.small:
            return StemSpec(large.w_out, kernel=3, stride=1, padding=1, pool="none")
        return large

    def arch(self, **fields: object) -> ArchSpec:
        return ArchSpec(
            in_channels=self.in_channels, input_size=self.input_size,
            num_classes=self.num_classes, **fields,  # type: ignore[arg-type]
        )


PresetFn = Callable[[Shape], ArchSpec]
PRESETS: Registry[PresetFn] = Registry("preset")
register_preset = PRESETS.register


def get_preset(
    name: str, *, in_channels: int = 3, input_size: int = 224, num_classes: int = 1000,
    width: float = 1.0,
) -> ArchSpec:
    """The preset's spec for this input shape; input_size <= 64 gives the small-input variant."""
    if not width > 0:
        raise ValueError(f"width: must be > 0, got {width}")
    return PRESETS[name](Shape(in_channels, input_size, num_classes, width))


def list_presets() -> list[str]:
    return PRESETS.names()
