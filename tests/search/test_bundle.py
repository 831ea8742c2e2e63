"""Export bundles round-trip: model.py in a fresh process without this project, model.pt2 and
model.onnx under onnxruntime all carry build(spec)'s weights and agree with it."""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from nas_space import ArchSpec, build, get_preset, list_presets
from search import bundle, standalone
from search.weights import read_file, tensors
from tests.exported import calibrated

BATCHES = (1, 3, 8)
TOLERANCE = 1e-4


def small(name: str, width: float) -> ArchSpec:
    return get_preset(name, in_channels=1, input_size=28, num_classes=10, width=width)


def grouped_fire() -> ArchSpec:
    """SqueezeNet 1.1 with grouped squeeze and expand 1x1 convs and a channel shuffle."""
    base = small("squeezenet1_1", 0.25)
    blocks = tuple(dataclasses.replace(b, squeeze_groups=2, groups=2) for b in base.blocks)
    return dataclasses.replace(base, blocks=blocks, bn=True)


#: The specs the acceptance names: groups with channel shuffle, depthwise convs, a Fire
#: block with complex bypass, a stride-2 ShuffleNet v1 unit (concat-avgpool shortcut) and
#: an inverted residual.
SPECS = {
    "grouped-shuffle-fire": grouped_fire,
    "depthwise": lambda: small("mobilenet_v1_x0_5", 0.5),
    "fire-complex-bypass": lambda: dataclasses.replace(
        small("squeezenet1_0_complex_bypass", 0.25), bn=True),
    "shufflenet-v1-stride2": lambda: small("shufflenet_v1_g3_x0_5", 0.5),
    "inverted-residual": lambda: small("mobilenet_v2", 0.25),
}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ArchSpec, Path]]:
    """One bundle per spec, written once for the module (the exporters take seconds)."""
    torch.set_num_threads(1)
    out = {}
    for i, (name, make) in enumerate(SPECS.items()):
        spec = make()
        path = tmp_path_factory.mktemp(name)
        bundle.write(path, spec, tensors(calibrated(spec, seed=i)), {"dataset": "fashion-mnist"})
        out[name] = (spec, path)
    return out


def inputs(spec: ArchSpec, batch: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(batch)
    return torch.rand(batch, spec.in_channels, spec.input_size, spec.input_size,
                      generator=gen) * 2 - 1


def reference(spec: ArchSpec, path: Path) -> torch.nn.Module:
    model = build(spec)
    model.load_state_dict(read_file(path / bundle.WEIGHTS))
    return model.eval()


def expected(spec: ArchSpec, path: Path, batch: int) -> np.ndarray:
    with torch.no_grad():
        return reference(spec, path)(inputs(spec, batch)).numpy()


FRESH = """
import importlib.util, sys
sys.path.append(sys.argv[1])  # torch's site-packages, without its .pth files
try:
    import nas_space
except ImportError:
    pass
else:
    raise SystemExit("nas_space is importable here")
import torch
torch.set_num_threads(1)
for i, folder in enumerate(sys.argv[2:]):
    spec = importlib.util.spec_from_file_location(f"bundle{i}", folder + "/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.load(folder)
    for n in (1, 3, 8):
        x = torch.load(f"{folder}/x{n}.pt", weights_only=True)
        with torch.no_grad():
            torch.save(net(x), f"{folder}/y{n}.pt")
print("ok", len(sys.argv) - 2)
"""


def test_model_py_in_a_fresh_process_without_this_project(
        bundles: dict[str, tuple[ArchSpec, Path]], tmp_path: Path) -> None:
    folders = []
    for spec, path in bundles.values():
        for n in BATCHES:
            torch.save(inputs(spec, n), path / f"x{n}.pt")
        folders.append(str(path))
    site = str(Path(torch.__file__).resolve().parents[1])
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no PYTHONPATH
    proc = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", FRESH, site, *folders],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.split() == ["ok", str(len(SPECS))]
    for spec, path in bundles.values():
        for n in BATCHES:
            got = torch.load(path / f"y{n}.pt", weights_only=True).numpy()
            assert got.shape == (n, 10)
            assert np.abs(got - expected(spec, path, n)).max() <= TOLERANCE, (path, n)


@pytest.mark.parametrize("name", list(SPECS))
def test_model_pt2_has_a_dynamic_batch(bundles: dict[str, tuple[ArchSpec, Path]],
                                       name: str) -> None:
    spec, path = bundles[name]
    program = torch.export.load(str(path / bundle.PT2)).module()
    for n in BATCHES:
        with torch.no_grad():
            got = program(inputs(spec, n)).numpy()
        assert np.abs(got - expected(spec, path, n)).max() <= TOLERANCE


@pytest.mark.parametrize("name", list(SPECS))
def test_model_onnx_under_onnxruntime(bundles: dict[str, tuple[ArchSpec, Path]],
                                      name: str) -> None:
    spec, path = bundles[name]
    session = onnxruntime.InferenceSession(str(path / bundle.ONNX),
                                           providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    for n in BATCHES:
        got = session.run(None, {feed: inputs(spec, n).numpy()})[0]
        assert got.shape == (n, 10)
        assert np.abs(got - expected(spec, path, n)).max() <= TOLERANCE


def test_model_py_imports_only_torch(bundles: dict[str, tuple[ArchSpec, Path]]) -> None:
    allowed = {"torch", "json", "struct", "pathlib", "__future__"}
    for spec, path in bundles.values():
        tree = ast.parse((path / bundle.MODEL_PY).read_text())
        names = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
                 for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                 for a in n.names}
        assert names <= allowed, names
        kinds = {b.kind for b in spec.blocks}
        unused = set(standalone.CLASSES) - kinds
        text = (path / bundle.MODEL_PY).read_text()
        assert all(f"class {standalone.CLASSES[k]}(" in text for k in kinds)
        assert not any(f"class {standalone.CLASSES[k]}(" in text for k in unused)


def test_bundle_files_and_model_card(bundles: dict[str, tuple[ArchSpec, Path]]) -> None:
    spec, path = bundles["inverted-residual"]
    names = {p.name for p in path.iterdir() if not p.name.startswith(("x", "y"))}
    assert names == {"config.json", "model.py", "weights.safetensors", "model.pt2",
                     "model.onnx", "card.json", "README.md"}
    assert ArchSpec.from_json((path / "config.json").read_text()) == spec
    card = (path / "README.md").read_text()
    front, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    assert "library_name: pytorch" in front and "- accuracy" in front
    assert '"zalando-datasets/fashion_mnist"' in front
    for words in ("params", "MFLOPs", "batch-1 latency", "input shape: 1x28x28",
                  "x / 127.5 - 1", "## Training", "study:"):
        assert words in body, words
    assert json.loads((path / "card.json").read_text())["latency_ms"] > 0


@pytest.mark.parametrize("name", list_presets())
def test_standalone_source_matches_build_for_every_preset(name: str) -> None:
    spec = small(name, 0.25)
    module = types.ModuleType("standalone_model")
    exec(compile(standalone.source(spec, name), "model.py", "exec"), module.__dict__)
    ref = calibrated(spec)
    net = module.Network()
    net.load_state_dict(ref.state_dict())
    x = inputs(spec, 2)
    with torch.no_grad():
        assert torch.allclose(net.eval()(x), ref(x), atol=1e-5)
