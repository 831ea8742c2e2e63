"""SqueezeNet 1.0 and 1.1, and 1.0 with simple or complex bypass (paper Table 3)."""

from __future__ import annotations

from nas_space.presets.base import Shape, register_preset
from nas_space.spec import ArchSpec, BlockSpec, HeadSpec, StemSpec

# (w_out, squeeze width) of the 8 Fire modules: e_i = 128 + 128 * floor(i / 2), SR = 0.125.
FIRES = ((128, 16), (128, 16), (256, 32), (256, 32), (384, 48), (384, 48), (512, 64), (512, 64))


def fire_net(shape: Shape, stem: StemSpec, pools: tuple[int, ...], bypass: str) -> ArchSpec:
    blocks = []
    for i, (e, s) in enumerate(FIRES):
        w, sq = shape.w(e, 4), shape.w(s, 4)
        # Simple bypass around the odd modules (equal widths); complex also around the rest.
        kind = "simple" if bypass != "none" and i % 2 else "complex" if bypass == "complex" \
            else "none"
        blocks.append(BlockSpec(
            "fire", w, pool="max_ceil" if i in pools else "none",
            sr=sq / w, pct3x3=0.5, bypass=kind,
        ))
    return shape.arch(
        stem=shape.stem(stem), blocks=tuple(blocks), bn=False,
        head=HeadSpec("conv", dropout=0.5),
    )


def _register(name: str, stem_width: int, kernel: int, pools: tuple[int, int],
              bypass: str) -> None:
    """Register one SqueezeNet variant: its stem, pool positions and bypass."""

    def preset(shape: Shape) -> ArchSpec:
        stem = StemSpec(shape.w(stem_width, 4), kernel, stride=2, padding=0, pool="max_ceil")
        return fire_net(shape, stem, pools, bypass)

    preset.__doc__ = f"{name}: {kernel}x{kernel} stem of {stem_width}, pools before Fire " \
        f"blocks {pools}, bypass {bypass}."
    register_preset(name)(preset)


_register("squeezenet1_0", 96, 7, (3, 7), "none")
_register("squeezenet1_1", 64, 3, (2, 4), "none")
_register("squeezenet1_0_simple_bypass", 96, 7, (3, 7), "simple")
_register("squeezenet1_0_complex_bypass", 96, 7, (3, 7), "complex")
