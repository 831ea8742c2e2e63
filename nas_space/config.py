"""Reading an ArchSpec from a config file that may have been edited or tampered with.

`ArchSpec.from_json` already refuses unknown keys, wrong types, channels <= 0 and groups
that do not divide a conv's channels, naming the field. A config file read from disk is
also capped in size, so that a forged file cannot make `build()` allocate without bound.
"""

from __future__ import annotations

from pathlib import Path

from nas_space.cost import cost_rows
from nas_space.spec import ArchSpec

#: The largest network a config file may describe: 1e11 multiply-adds (ResNet-50 at 224
#: pixels has 4.1e9) and 1e9 parameters (4 GB of fp32 weights).
MAX_MACS = 10**11
MAX_PARAMS = 10**9


class ConfigError(ValueError):
    """A config file that cannot be read or describes no acceptable network (one line)."""


def check_size(spec: ArchSpec) -> None:
    """Refuse a spec over MAX_MACS or MAX_PARAMS, naming the part that costs the most."""
    rows = cost_rows(spec)
    macs = sum(r.cost.macs for r in rows)
    params = sum(r.cost.params for r in rows)
    if macs <= MAX_MACS and params <= MAX_PARAMS:
        return
    worst = max(rows, key=lambda r: r.cost.macs if macs > MAX_MACS else r.cost.params)
    field = {"stem": "stem.w_out", "head": "num_classes"}.get(worst.name, f"{worst.name}.w_out")
    if worst.name == "head" and spec.head.w_mid:
        field = "head.w_mid"
    what, total, limit = (("multiply-adds", macs, MAX_MACS) if macs > MAX_MACS
                          else ("parameters", params, MAX_PARAMS))
    raise ConfigError(f"{field}: the network would have {total:.3g} {what}, over the limit of "
                      f"{limit:.0e}; {worst.name} alone has {worst.cost.macs:.3g} multiply-adds "
                      f"and {worst.cost.params:.3g} parameters")


def spec_from_config(text: str) -> ArchSpec:
    """The ArchSpec a config file's text describes; ConfigError naming the field if refused."""
    try:
        spec = ArchSpec.from_json(text)
    except (ValueError, TypeError, KeyError, RecursionError) as e:
        raise ConfigError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    check_size(spec)
    return spec


def read_config(path: str | Path) -> ArchSpec:
    """Read and check a config file; ConfigError names the field at fault."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config: cannot read {path} ({e})") from None
    return spec_from_config(text)
