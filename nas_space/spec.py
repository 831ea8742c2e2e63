"""Frozen, typed, JSON-serializable architecture specs: the only input to build() and cost().

An `ArchSpec` is a stem, a tuple of `BlockSpec`s and a head. A block carries its
output width and the generalized-block knobs (squeeze ratio, 3x3 share, group
counts, bypass); the widths of its inner layers are derived from them in one
place, `nas_space.blocks.widths`. Every spec is validated when it is made, so an
`ArchSpec` that exists can always be built.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

POOLS = ("none", "max", "max_ceil")
BYPASSES = ("none", "simple", "complex")
HEADS = ("linear", "conv")
ACTS = ("relu", "relu6")

S = TypeVar("S")


def _positive(path: str, value: int) -> None:
    if value <= 0:
        raise ValueError(f"{path}: must be a positive integer, got {value}")


def _choice(path: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{path}: {value!r} is not one of {', '.join(valid)}")


@dataclass(frozen=True)
class StemSpec:
    """conv kxk/stride (BN, act) -> optional 3x3/2 max pool."""

    w_out: int
    kernel: int = 3
    stride: int = 1
    padding: int = 1
    pool: str = "none"

    def __post_init__(self) -> None:
        _positive("stem.w_out", self.w_out)
        _positive("stem.kernel", self.kernel)
        _positive("stem.stride", self.stride)
        if self.padding < 0:
            raise ValueError(f"stem.padding: must be >= 0, got {self.padding}")
        _choice("stem.pool", self.pool, POOLS)


@dataclass(frozen=True)
class BlockSpec:
    """One generalized block; `kind` names its layer sequence (see nas_space.blocks).

    sr       squeeze ratio: the squeeze / bottleneck / expansion width is round(sr * w_out)
    pct3x3   Fire only: the share of the expand channels made by 3x3 filters
    squeeze_groups, groups   groups of the first and the last 1x1 conv
    spatial_groups           groups of the dense 3x3 conv (ResNeXt cardinality)
    pool     a 3x3/2 max pool before the block ("max": padding 1, "max_ceil": ceil mode)
    bypass   Fire and depthwise-separable blocks: none, simple (identity), complex (1x1 conv)
    """

    kind: str
    w_out: int
    stride: int = 1
    pool: str = "none"
    sr: float = 1.0
    pct3x3: float = 0.5
    squeeze_groups: int = 1
    groups: int = 1
    spatial_groups: int = 1
    bypass: str = "none"

    def __post_init__(self) -> None:
        self.check("block")

    def check(self, path: str) -> None:
        _positive(f"{path}.w_out", self.w_out)
        if self.stride not in (1, 2):
            raise ValueError(f"{path}.stride: must be 1 or 2, got {self.stride}")
        _choice(f"{path}.pool", self.pool, POOLS)
        if not (math.isfinite(self.sr) and self.sr > 0):
            raise ValueError(f"{path}.sr: the squeeze ratio must be > 0, got {self.sr}")
        if not (0.0 <= self.pct3x3 <= 1.0):
            raise ValueError(f"{path}.pct3x3: must be in [0, 1], got {self.pct3x3}")
        for name in ("squeeze_groups", "groups", "spatial_groups"):
            _positive(f"{path}.{name}", getattr(self, name))
        _choice(f"{path}.bypass", self.bypass, BYPASSES)


@dataclass(frozen=True)
class HeadSpec:
    """linear: [conv1x1 w_mid (BN, act)] -> global avg pool -> dropout -> linear;
    conv: dropout -> conv1x1 to classes -> ReLU -> global avg pool (SqueezeNet)."""

    kind: str = "linear"
    w_mid: int = 0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        _choice("head.kind", self.kind, HEADS)
        if self.w_mid < 0:
            raise ValueError(f"head.w_mid: must be >= 0, got {self.w_mid}")
        if not (0.0 <= self.dropout < 1.0):
            raise ValueError(f"head.dropout: must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class ArchSpec:
    """A whole network: input shape, stem, blocks, head, and the global BN/activation choice."""

    stem: StemSpec
    blocks: tuple[BlockSpec, ...]
    head: HeadSpec = field(default_factory=HeadSpec)
    num_classes: int = 1000
    in_channels: int = 3
    input_size: int = 224
    bn: bool = True
    act: str = "relu"

    def __post_init__(self) -> None:
        _positive("num_classes", self.num_classes)
        _positive("in_channels", self.in_channels)
        _positive("input_size", self.input_size)
        _choice("act", self.act, ACTS)
        if not self.blocks:
            raise ValueError("blocks: a network needs at least one block")
        from nas_space.blocks import check_blocks

        check_blocks(self)

    # -- serialization ---------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchSpec:
        return _from_dict(cls, data, "")

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"spec: not valid JSON ({e.msg} at line {e.lineno})") from None
        return cls.from_dict(data)

    def digest(self) -> str:
        """A hash of the network this spec builds (knobs a block ignores do not count)."""
        from nas_space.blocks import canonical

        text = canonical(self).to_json()
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- generic, strict dict -> dataclass conversion --------------------------


def _from_dict(cls: type[S], data: Any, path: str) -> S:
    where = path or "spec"
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{_join(path, unknown[0])}: unknown key; valid keys: {', '.join(sorted(known))}"
        )
    kwargs = {k: _convert(hints[k], v, _join(path, k)) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:  # a required key is missing
        raise ValueError(f"{where}: {e}") from None
    except ValueError as e:
        msg = str(e)
        if path.startswith("blocks[") and msg.startswith("block."):  # name the list entry
            msg = path + msg[len("block") :]
        raise ValueError(msg) from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, path)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list | tuple):
            raise ValueError(f"{path}: expected a list, got {type(value).__name__}")
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is Literal:
        return value
    if origin in (typing.Union, types.UnionType):
        return value
    return _scalar(hint, value, path)


def _scalar(hint: Any, value: Any, path: str) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{path}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{path}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{path}: expected a string, got {value!r}")
        return value
    return value
