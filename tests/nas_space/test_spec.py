"""Specs are frozen, round-trip through JSON, and reject bad input naming the field."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from nas_space import ArchSpec, BlockSpec, HeadSpec, StemSpec, get_preset, list_presets


@pytest.mark.parametrize("name", list_presets())
def test_json_round_trip(name: str) -> None:
    for spec in (get_preset(name), get_preset(name, in_channels=1, input_size=28, num_classes=10)):
        assert ArchSpec.from_json(spec.to_json()) == spec
        assert ArchSpec.from_dict(json.loads(spec.to_json(indent=2))) == spec
        assert ArchSpec.from_json(spec.to_json()).digest() == spec.digest()


def test_digests_tell_presets_apart() -> None:
    digests = {get_preset(name).digest() for name in list_presets()}
    assert len(digests) == len(list_presets())


def test_specs_are_frozen() -> None:
    spec = get_preset("resnet18")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.num_classes = 10  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.blocks[0].w_out = 1  # type: ignore[misc]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets the value at a dotted path like 'blocks[3].groups'."""
    *parents, leaf = re.findall(r"[a-z_0-9]+|\[\d+\]", path)

    def key_of(part: str) -> int | str:
        return int(part[1:-1]) if part.startswith("[") else part

    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for part in parents:
            node = node[key_of(part)]
        node[key_of(leaf)] = value

    return edit


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


#: (preset, edit of its dict, the field path the error must start with).
TAMPERED = {
    "unknown top-level key": ("resnet18", _set("colour", "red"), "colour"),
    "unknown block key": ("resnet18", _set("blocks[3].colour", 1), "blocks[3].colour"),
    "unknown head key": ("resnet18", _set("head.size", 1), "head.size"),
    "zero block width": ("resnet18", _set("blocks[3].w_out", 0), "blocks[3].w_out"),
    "negative block width": ("resnet18", _set("blocks[3].w_out", -64), "blocks[3].w_out"),
    "negative stem width": ("resnet18", _set("stem.w_out", -1), "stem.w_out"),
    "zero classes": ("resnet18", _set("num_classes", 0), "num_classes"),
    "zero groups": ("resnet18", _set("blocks[3].spatial_groups", 0), "blocks[3].spatial_groups"),
    "groups not dividing": ("shufflenet_v1_g3_x1_0", _set("blocks[3].groups", 7),
                            "blocks[3].groups"),
    "squeeze groups not dividing": ("shufflenet_v1_g3_x1_0",
                                    _set("blocks[3].squeeze_groups", 7),
                                    "blocks[3].squeeze_groups"),
    "pct3x3 above 1": ("squeezenet1_0", _set("blocks[3].pct3x3", 1.5), "blocks[3].pct3x3"),
    "pct3x3 below 0": ("squeezenet1_0", _set("blocks[3].pct3x3", -0.1), "blocks[3].pct3x3"),
    "zero sr": ("mobilenet_v2", _set("blocks[3].sr", 0), "blocks[3].sr"),
    "negative sr": ("mobilenet_v2", _set("blocks[3].sr", -0.5), "blocks[3].sr"),
    "sr rounding to 0 channels": ("mobilenet_v2", _set("blocks[3].sr", 0.001), "blocks[3].sr"),
    "unknown block kind": ("resnet18", _set("blocks[3].kind", "dense"), "blocks[3].kind"),
    "stride 3": ("resnet18", _set("blocks[3].stride", 3), "blocks[3].stride"),
    "unknown pool": ("resnet18", _set("blocks[3].pool", "avg"), "blocks[3].pool"),
    "unknown bypass": ("squeezenet1_0", _set("blocks[3].bypass", "x"), "blocks[3].bypass"),
    "simple bypass across widths": ("squeezenet1_0", _set("blocks[2].bypass", "simple"),
                                    "blocks[2].bypass"),
    "strided fire": ("squeezenet1_0", _set("blocks[3].stride", 2), "blocks[3].stride"),
    "width as a string": ("resnet18", _set("blocks[3].w_out", "64"), "blocks[3].w_out"),
    "width as a float": ("resnet18", _set("blocks[3].w_out", 64.0), "blocks[3].w_out"),
    "width as a bool": ("resnet18", _set("blocks[3].w_out", True), "blocks[3].w_out"),
    "sr as a string": ("mobilenet_v2", _set("blocks[3].sr", "6"), "blocks[3].sr"),
    "bn as a string": ("resnet18", _set("bn", "yes"), "bn"),
    "kind as a number": ("resnet18", _set("blocks[3].kind", 3), "blocks[3].kind"),
    "blocks not a list": ("resnet18", _set("blocks", {"a": 1}), "blocks"),
    "block not an object": ("resnet18", _set("blocks[3]", [1, 2]), "blocks[3]"),
    "no blocks": ("resnet18", _set("blocks", []), "blocks"),
    "unknown activation": ("resnet18", _set("act", "gelu"), "act"),
    "unknown head kind": ("resnet18", _set("head.kind", "mlp"), "head.kind"),
    "dropout of 1": ("resnet18", _set("head.dropout", 1.0), "head.dropout"),
    "input too small": ("squeezenet1_0", _set("input_size", 6), "input_size"),
    "odd shuffle_v2 width": ("shufflenet_v2_x1_0", _set("blocks[3].w_out", 115),
                             "blocks[3].w_out"),
    "missing stem": ("resnet18", _delete("stem"), "spec"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_tampered_json_names_the_field(case: str) -> None:
    name, edit, path = TAMPERED[case]
    data = json.loads(get_preset(name).to_json())
    edit(data)
    with pytest.raises(ValueError, match=r"^" + re.escape(path) + "(?![a-z_0-9])") as info:
        ArchSpec.from_json(json.dumps(data))
    assert ": " in str(info.value)  # a path, then what is wrong


def test_invalid_json() -> None:
    with pytest.raises(ValueError, match=r"^spec: not valid JSON"):
        ArchSpec.from_json("{'stem': ")
    with pytest.raises(ValueError, match=r"^spec: expected an object"):
        ArchSpec.from_json("[1, 2]")


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError, match=r"^block.groups"):
        BlockSpec("fire", 64, groups=0)
    with pytest.raises(ValueError, match=r"^stem.pool"):
        StemSpec(32, pool="avg")
    with pytest.raises(ValueError, match=r"^head.w_mid"):
        HeadSpec(w_mid=-1)
    with pytest.raises(ValueError, match=r"^blocks\[1\].w_out"):
        ArchSpec(StemSpec(16), (BlockSpec("basic", 16), BlockSpec("shuffle_v2", 15)))
