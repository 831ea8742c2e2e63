"""An export bundle: a directory that holds one network in the forms people deploy.

    config.json          the ArchSpec
    model.py             standalone PyTorch source (imports only torch), with load(dir)
    weights.safetensors  the trained weights (when there are any)
    model.pt2            torch.export program, dynamic batch dimension (with weights)
    model.onnx           ONNX graph, dynamic batch dimension (with weights)
    card.json            what the model card says, as data (the provenance and the figures)
    README.md            the model card, written from card.json
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import platform
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from nas_space import ArchSpec, build, cost
from nas_space.config import read_config
from search import modelcard, standalone
from search.latency import latency_ms
from search.weights import read_file

CONFIG, MODEL_PY, WEIGHTS = "config.json", "model.py", "weights.safetensors"
PT2, ONNX, CARD, README = "model.pt2", "model.onnx", "card.json", "README.md"
#: The batch size of the example input the exporters trace (the batch stays dynamic).
EXAMPLE_BATCH = 2
ONNX_OPSET = 18


def example_input(spec: ArchSpec, batch: int = EXAMPLE_BATCH) -> torch.Tensor:
    return torch.zeros(batch, spec.in_channels, spec.input_size, spec.input_size)


def model_with(spec: ArchSpec, state: dict[str, torch.Tensor] | None) -> torch.nn.Module:
    """build(spec) in eval mode on the CPU, with `state` loaded when given."""
    model = build(spec)
    if state is not None:
        model.load_state_dict(state)
    return model.eval()


@contextlib.contextmanager
def quiet() -> Any:
    """Capture the exporters' progress lines and warnings (they go to stdout and logging)."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def write_programs(out: Path, spec: ArchSpec, model: torch.nn.Module) -> None:
    """model.pt2 and model.onnx, both with a dynamic batch dimension."""
    x = example_input(spec)
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    with quiet(), torch.no_grad():
        program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
        torch.export.save(program, str(out / PT2))
        torch.onnx.export(program, (x,), str(out / ONNX), dynamo=True, verbose=False,
                          external_data=False, opset_version=ONNX_OPSET)


def write(out: Path, spec: ArchSpec, state: dict[str, torch.Tensor] | None,
          card: dict[str, Any]) -> list[str]:
    """Write (or rewrite) a bundle; returns the names of the files written.

    Without weights the bundle holds the architecture only (config, model.py, card); a
    full training run (`python -m search.train --out DIR`) adds the rest.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG).write_text(spec.to_json(indent=2) + "\n")
    title = card.get("title") or f"nas-explorer network {spec.digest()}"
    (out / MODEL_PY).write_text(standalone.source(spec, title))
    written = [CONFIG, MODEL_PY]
    card = {**card, **size_figures(spec)}
    if state is not None:
        model = model_with(spec, state)
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()},
                  str(out / WEIGHTS))
        write_programs(out, spec, model)
        card["latency_ms"] = cpu_latency(model, spec)
        card["machine"] = f"{platform.machine()} CPU, 1 thread, torch {torch.__version__}"
        written += [WEIGHTS, PT2, ONNX]
    else:
        for name in (WEIGHTS, PT2, ONNX):  # stale files of an earlier version of the bundle
            (out / name).unlink(missing_ok=True)
    write_card(out, spec, card)
    return [*written, CARD, README]


def cpu_latency(model: torch.nn.Module, spec: ArchSpec) -> float:
    """Median batch-1 latency on one CPU thread (steadier than several on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return latency_ms(model, spec, torch.device("cpu"), repeats=50)
    finally:
        torch.set_num_threads(threads)


def size_figures(spec: ArchSpec) -> dict[str, Any]:
    c = cost(spec)
    return {"macs": c.macs, "params": c.params, "size_bytes": c.size_bytes,
            "input_shape": [spec.in_channels, spec.input_size, spec.input_size],
            "num_classes": spec.num_classes}


def write_card(out: Path, spec: ArchSpec, card: dict[str, Any]) -> None:
    (out / CARD).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    (out / README).write_text(modelcard.render(spec, card))


def read(out: Path) -> tuple[ArchSpec, dict[str, torch.Tensor] | None, dict[str, Any]]:
    """A bundle's spec (checked like any config file), weights (or None) and card data."""
    spec = read_config(out / CONFIG)
    weights = read_file(out / WEIGHTS) if (out / WEIGHTS).exists() else None
    return spec, weights, read_card(out)


def read_card(out: Path) -> dict[str, Any]:
    """A bundle's card data; {} where there is none, or it is not a JSON object."""
    try:
        card = json.loads((out / CARD).read_text()) if (out / CARD).is_file() else {}
    except (OSError, json.JSONDecodeError):
        card = {}
    return card if isinstance(card, dict) else {}
