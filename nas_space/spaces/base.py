"""The space registry and base class: a space maps metaparameters to an ArchSpec.

A space never builds modules. `sample(trial)` asks Optuna for every searched axis and
hands the values to `from_params`, which is deterministic and validates its input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol

from nas_space.registry import Registry
from nas_space.spec import ArchSpec

Value = int | float | str | bool


class TrialLike(Protocol):
    """The part of optuna.Trial a space uses."""

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1,
                    log: bool = False) -> int: ...
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float: ...
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass(frozen=True)
class Axis:
    """One metaparameter: an int or float range, or a tuple of choices."""

    name: str
    default: Value
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False
    choices: tuple[Value, ...] = ()

    @property
    def kind(self) -> str:
        if self.choices:
            return "categorical"
        return "int" if isinstance(self.default, int) and not isinstance(self.default, bool) \
            else "float"

    def suggest(self, trial: TrialLike) -> Value:
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def check(self, value: Any) -> Value:
        """The value if it lies in this axis; otherwise a ValueError naming the axis."""
        if self.choices:
            if value not in self.choices or isinstance(value, bool) != isinstance(
                    self.choices[0], bool):
                raise ValueError(f"{self.name}: {value!r} is not one of {list(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise ValueError(f"{self.name}: expected a number, got {value!r}")
        if self.kind == "int" and value != int(value):
            raise ValueError(f"{self.name}: expected an integer, got {value!r}")
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name}: {value} is outside [{self.low}, {self.high}]")
        return int(value) if self.kind == "int" else float(value)

    def narrowed(self, spec: Mapping[str, Any]) -> Axis:
        """A copy with a narrower range or choice set (study files use this)."""
        if "choices" in spec:
            choices = tuple(self.check(c) for c in spec["choices"])
            return replace(self, choices=choices, default=choices[0]
                           if self.default not in choices else self.default)
        low = self.check(spec.get("low", self.low))
        high = self.check(spec.get("high", self.high))
        if low > high:
            raise ValueError(f"{self.name}: low {low} is above high {high}")
        default = min(max(self.default, low), high)  # type: ignore[type-var]
        return replace(self, low=low, high=high, default=default,
                       log=bool(spec.get("log", self.log)))


class Space:
    """A named design space over shared axes; subclasses implement `make(params)`."""

    name: ClassVar[str] = ""
    axes: ClassVar[tuple[Axis, ...]] = ()

    def __init__(self, in_channels: int = 3, input_size: int = 224, num_classes: int = 1000,
                 ranges: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.in_channels, self.input_size, self.num_classes = in_channels, input_size, num_classes
        axes = {a.name: a for a in type(self).axes}
        for key, spec in (ranges or {}).items():
            if key not in axes:
                raise ValueError(f"{key}: not an axis of space {self.name!r}; axes: "
                                 + ", ".join(axes))
            axes[key] = axes[key].narrowed(spec)
        self.axes_by_name = axes

    @property
    def defaults(self) -> dict[str, Value]:
        """The paper-default metaparameters of this space."""
        return {a.name: a.default for a in self.axes_by_name.values()}

    def sample(self, trial: TrialLike, fixed: Mapping[str, Any] | None = None) -> ArchSpec:
        """Suggest every axis not in `fixed` and make the spec."""
        fixed = dict(fixed or {})
        params = {n: fixed[n] if n in fixed else a.suggest(trial)
                  for n, a in self.axes_by_name.items()}
        return self.from_params(params)

    def from_params(self, params: Mapping[str, Any]) -> ArchSpec:
        """The spec at these metaparameters (missing ones take the defaults); deterministic."""
        unknown = sorted(set(params) - set(self.axes_by_name))
        if unknown:
            raise ValueError(f"{unknown[0]}: not an axis of space {self.name!r}; axes: "
                             + ", ".join(self.axes_by_name))
        p = {n: a.check(params.get(n, a.default)) for n, a in self.axes_by_name.items()}
        return self.make(p)

    def make(self, p: dict[str, Any]) -> ArchSpec:
        raise NotImplementedError

    def arch(self, **fields: Any) -> ArchSpec:
        return ArchSpec(in_channels=self.in_channels, input_size=self.input_size,
                        num_classes=self.num_classes, **fields)

    @property
    def small(self) -> bool:
        from nas_space.presets.base import SMALL_INPUT

        return self.input_size <= SMALL_INPUT


SPACES: Registry[type[Space]] = Registry("space")


def register_space(cls: type[Space]) -> type[Space]:
    """Class decorator: register a space under its `name`."""
    SPACES.register(cls.name)(cls)
    return cls


def get_space(name: str, *, in_channels: int = 3, input_size: int = 224, num_classes: int = 1000,
              ranges: Mapping[str, Mapping[str, Any]] | None = None) -> Space:
    """The space `name` for inputs of this shape and class count."""
    return SPACES[name](in_channels, input_size, num_classes, ranges)


def list_spaces() -> list[str]:
    return SPACES.names()
