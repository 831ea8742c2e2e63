"""nas_space.config: a tampered config file is refused in one line that names the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nas_space import cost, get_preset
from nas_space.config import MAX_MACS, ConfigError, read_config, spec_from_config


def base() -> dict[str, Any]:
    spec = get_preset("shufflenet_v1_g3_x0_5", in_channels=1, input_size=28, num_classes=10)
    return json.loads(spec.to_json())


def tamper(change: Any) -> str:
    data = base()
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda d: d.update(shell="rm -rf /"), "shell", "unknown key"),
    (lambda d: d["blocks"][1].update(groupz=3), "blocks[1].groupz", "unknown key"),
    (lambda d: d["head"].update(extra=1), "head.extra", "unknown key"),
    (lambda d: d["blocks"][2].update(w_out=0), "blocks[2].w_out", "positive"),
    (lambda d: d["stem"].update(w_out=-24), "stem.w_out", "positive"),
    (lambda d: d.update(in_channels=0), "in_channels", "positive"),
    (lambda d: d["blocks"][1].update(groups=7), "blocks[1].groups", "do not divide"),
    (lambda d: d["blocks"][1].update(squeeze_groups=7), "blocks[1].squeeze_groups",
     "do not divide"),
    (lambda d: d.update(input_size=50_000), "blocks[0].w_out", "over the limit of 1e+11"),
    (lambda d: d["head"].update(w_mid=1_000_000_000), "head.w_mid", "over the limit"),
], ids=["unknown-top", "unknown-block", "unknown-head", "zero-channels", "negative-stem",
        "zero-in-channels", "groups", "squeeze-groups", "huge-input", "huge-head"])
def test_tampered_configs_are_refused_naming_the_field(change: Any, field: str,
                                                       words: str) -> None:
    with pytest.raises(ConfigError) as err:
        spec_from_config(tamper(change))
    message = str(err.value)
    assert message.startswith(field) and words in message, message
    assert "\n" not in message


def test_large_but_sane_networks_pass() -> None:
    spec = get_preset("resnet50")  # 4.1e9 multiply-adds at 224 pixels
    assert cost(spec_from_config(spec.to_json())).macs < MAX_MACS


def test_read_config_checks_the_file(tmp_path: Path) -> None:
    good = tmp_path / "config.json"
    good.write_text(json.dumps(base()))
    assert read_config(good).num_classes == 10
    with pytest.raises(ConfigError, match="config: cannot read"):
        read_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{\"stem\": ")
    with pytest.raises(ConfigError, match="spec: not valid JSON"):
        read_config(bad)
