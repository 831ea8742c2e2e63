"""The model card (README.md) of an export bundle, in Hugging Face's model-card convention:
a YAML front-matter block (library, dataset, metrics, model-index), then the figures."""

from __future__ import annotations

import json
from typing import Any

from nas_space import ArchSpec

#: Hugging Face Hub ids of the datasets the search knows.
HUB_DATASETS = {"fashion-mnist": "zalando-datasets/fashion_mnist", "mnist": "ylecun/mnist",
                "cifar10": "uoft-cs/cifar10"}
NORMALIZATION = "uint8 pixels scaled to [-1, 1]: x / 127.5 - 1 (no per-dataset statistics)"


def _q(value: Any) -> str:
    """A YAML scalar (JSON's quoting is valid YAML)."""
    return json.dumps(value)


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "not measured" if value is None else format(value, spec)


def front_matter(card: dict[str, Any]) -> str:
    dataset = card.get("dataset", "unknown")
    hub = HUB_DATASETS.get(dataset, dataset)
    lines = ["---", "library_name: pytorch", "license: mit", "pipeline_tag: image-classification",
             "tags:", "- image-classification", "- neural-architecture-search", "- nas-explorer",
             "- safetensors", "- onnx", "datasets:", f"- {_q(hub)}", "metrics:", "- accuracy",
             "model-index:", f"- name: {_q(card.get('title', 'network'))}", "  results:",
             "  - task:", "      type: image-classification", "    dataset:",
             f"      name: {_q(dataset)}", f"      type: {_q(hub)}", "    metrics:"]
    for key, split in (("val_acc", "validation"), ("test_acc", "test")):
        value = best(card, key)
        if value is not None:
            lines += ["    - type: accuracy", f"      name: {_q(split + ' accuracy')}",
                      f"      value: {value:.4f}"]
    if lines[-1] == "    metrics:":
        lines[-1] = "    metrics: []"
    return "\n".join([*lines, "---", ""])


def best(card: dict[str, Any], key: str) -> float | None:
    """The figure of the latest training: the full run's if there was one, else the search's."""
    full = card.get("training") or {}
    return full.get(key, card.get(key)) if full else card.get(key)


def render(spec: ArchSpec, card: dict[str, Any]) -> str:
    """The whole README.md."""
    title = card.get("title", "network")
    c, h, w = card["input_shape"]
    full = card.get("training") or {}
    weights = "trained" if card.get("latency_ms") is not None else "none yet"
    body = [
        f"# {title}", "",
        f"A {spec.num_classes}-class image classifier found by nas-explorer's architecture "
        "search. Load it without nas-explorer: `import model; net = model.load('.')`, or "
        "run `model.onnx` / `model.pt2` (both take any batch size).", "",
        "| | |", "|---|---|",
        f"| validation accuracy | {_fmt(best(card, 'val_acc'))} |",
        f"| test accuracy | {_fmt(best(card, 'test_acc'))} |",
        f"| MFLOPs (multiply-adds) | {card['macs'] / 1e6:.3f} |",
        f"| params | {card['params']:,} |",
        f"| size (fp32 weights) | {card['size_bytes'] / 1024:.1f} KiB |",
        f"| batch-1 latency, CPU | {_fmt(card.get('latency_ms'), '.3f')} ms "
        f"({card.get('machine', 'this machine')}) |",
        f"| weights | {weights} |", "",
        "## Input", "",
        f"- dataset: {card.get('dataset', 'unknown')}",
        f"- input shape: {c}x{h}x{w} (channels x height x width), batch first",
        f"- normalization: {NORMALIZATION} (`model.preprocess` does it)", "",
        "## Training", "",
        f"- search: {card.get('search_recipe', 'not recorded')}",
    ]
    if card.get("val_acc") is not None:
        body.append(f"  - after the search's training: validation {card['val_acc']:.4f}, "
                    f"test {_fmt(card.get('test_acc'))}")
    if full:
        body += [f"- full training: {full['recipe']}",
                 f"  - {full['epochs']} epochs in {full['seconds'] / 60:.1f} min on "
                 f"{full['device']}: validation {full['val_acc']:.4f}, "
                 f"test {full['test_acc']:.4f}",
                 f"  - reproduce: `{full['command']}`"]
    body += ["", "## Provenance", "",
             f"- study: `{card.get('study', '-')}`, trial {card.get('trial', '-')}",
             f"- search command: `{card.get('search_command', 'not recorded')}`",
             f"- export command: `{card.get('export_command', 'not recorded')}`",
             f"- spec digest: `{spec.digest()}`", ""]
    return front_matter(card) + "\n".join(body)
