"""model.py of an export bundle: standalone PyTorch source for one ArchSpec.

The source is search/model_template.py with the spec's layer plan filled in as a literal
and only the block classes the spec uses kept. The plan comes from the same per-block
conv plans `build()` reads, so `Network(PLAN)` has build(spec)'s state_dict keys.
"""

from __future__ import annotations

import pprint
import re
from pathlib import Path
from typing import Any

from nas_space import BLOCKS, ArchSpec
from nas_space.blocks import head_plan, stem_conv, walk
from nas_space.layers import Conv

TEMPLATE = Path(__file__).with_name("model_template.py")
#: The class of each block kind in the template.
CLASSES = {"fire": "Fire", "dwsep": "DWSep", "inverted": "InvertedResidual",
           "xception": "Xception", "basic": "Basic", "bottleneck": "Bottleneck",
           "shuffle_v1": "ShuffleV1", "shuffle_v2": "ShuffleV2"}
_SECTION = re.compile(r"# <kind (\w+)>\n(.*?)# </kind>\n", re.S)


def conv_row(c: Conv, *, bn: bool | None = None, act: bool | None = None) -> list[Any]:
    """A conv as the template's list: c_in, c_out, k, stride, groups, padding, bias, bn, act."""
    return [c.c_in, c.c_out, c.k, c.stride, c.groups, c.pad, c.has_bias,
            c.bn if bn is None else bn, c.act if act is None else act]


def block_plan(spec: ArchSpec) -> list[dict[str, Any]]:
    """One dict per block: kind, pool, stride, shuffle groups, bypass, residual, convs."""
    out = []
    for _, b, c_in, _, _ in walk(spec):
        convs = BLOCKS[b.kind].plan(b, c_in, spec.bn)
        row: dict[str, Any] = {
            "kind": b.kind, "w_out": b.w_out, "pool": b.pool, "stride": b.stride,
            "shuffle": b.squeeze_groups, "bypass": b.bypass,
            "residual": b.stride == 1 and c_in == b.w_out,
            "convs": {name: conv_row(c) for name, c in convs.items()},
        }
        if b.kind == "fire" and {"expand1x1", "expand3x3"} <= set(convs):
            # build() applies the expands' BN and activation once, after the concat
            for name in ("expand1x1", "expand3x3"):
                row["convs"][name] = conv_row(convs[name], bn=False, act=False)
            row["tail_bn"] = spec.bn
        out.append(row)
    return out


def plan(spec: ArchSpec) -> dict[str, Any]:
    """The whole network as plain data for the template's Network(PLAN)."""
    c_last = spec.blocks[-1].w_out
    convs, features = head_plan(spec, c_last)
    return {
        "act": spec.act,
        "input": [spec.in_channels, spec.input_size, spec.input_size],
        "stem": conv_row(stem_conv(spec)),
        "stem_pool": spec.stem.pool,
        "blocks": block_plan(spec),
        "head": {"convs": {n: conv_row(c) for n, c in convs.items()}, "features": features,
                 "classes": spec.num_classes, "dropout": spec.head.dropout},
    }


def source(spec: ArchSpec, title: str) -> str:
    """The text of model.py for `spec`; `title` is its docstring's first line."""
    text = TEMPLATE.read_text()
    kinds = {b.kind for b in spec.blocks}
    text = _SECTION.sub(lambda m: m.group(2) if m.group(1) in kinds else "", text)
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    literal = pprint.pformat(plan(spec), indent=1, width=96, sort_dicts=False)
    blocks = ", ".join(f'"{k}": {CLASSES[k]}' for k in sorted(kinds))
    text = text.replace("PLAN: dict = {}  # __PLAN__", f"PLAN: dict = {literal}")
    text = text.replace("BLOCKS: dict[str, type[Block]] = {}  # __BLOCKS__",
                        f"BLOCKS: dict[str, type[Block]] = {{{blocks}}}")
    return text.replace("__TITLE__", title.replace('"""', "'''"))
