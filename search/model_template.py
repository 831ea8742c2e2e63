"""__TITLE__

A standalone PyTorch definition of this network: it needs torch and nothing else, so it
can be copied into any project.

    import model
    net = model.load("path/to/bundle")          # trained weights, eval mode
    logits = net(model.preprocess(images))      # images: uint8 (N, C, H, W)

`PLAN` below lists every layer; a conv is (c_in, c_out, kernel, stride, groups, padding,
bias, batchnorm, activation). `Network(PLAN)` has the same state_dict keys as the
network that was trained, so weights move between them unchanged.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

PLAN: dict = {}  # __PLAN__


def activation(name: str) -> nn.Module:
    return nn.ReLU6(inplace=True) if name == "relu6" else nn.ReLU(inplace=True)


def conv(spec: list, act: str) -> nn.Sequential:
    """conv kxk/stride/groups -> [BatchNorm] -> [activation]."""
    c_in, c_out, k, stride, groups, padding, bias, bn, has_act = spec
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, padding, groups=groups,
                                         bias=bias)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    if has_act:
        layers.append(activation(act))
    return nn.Sequential(*layers)


def max_pool(kind: str) -> nn.Module:
    if kind == "max_ceil":
        return nn.MaxPool2d(3, 2, ceil_mode=True)
    if kind == "max":
        return nn.MaxPool2d(3, 2, 1)
    return nn.Identity()


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of `groups` groups (ShuffleNet)."""
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


class Block(nn.Module):
    """A block's convs as named submodules, after an optional 3x3/2 max pool."""

    def __init__(self, spec: dict, act: str) -> None:
        super().__init__()
        self.spec = spec
        self.pool = max_pool(spec["pool"])
        self.act = nn.ReLU6() if act == "relu6" else nn.ReLU()
        for name, layer in spec["convs"].items():
            self.add_module(name, conv(layer, act))

    def has(self, name: str) -> bool:
        return name in self._modules

    def shuffle(self, x: torch.Tensor) -> torch.Tensor:
        groups = self.spec["shuffle"]
        return channel_shuffle(x, groups) if groups > 1 else x


# <kind fire>
class Fire(Block):
    """[pool] -> squeeze 1x1 [-> shuffle] -> [expand 1x1 | expand 3x3 -> concat -> BN act]
    (+ x: simple bypass, + 1x1 conv(x): complex bypass)."""

    def __init__(self, spec: dict, act: str) -> None:
        super().__init__(spec, act)
        if "tail_bn" in spec:
            norm = [nn.BatchNorm2d(spec["w_out"])] if spec["tail_bn"] else []
            self.tail = nn.Sequential(*norm, activation(act))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        s = self.shuffle(self.squeeze(x))
        parts = [getattr(self, n)(s) for n in ("expand1x1", "expand3x3") if self.has(n)]
        out = self.tail(torch.cat(parts, 1)) if len(parts) > 1 else parts[0]
        if self.spec["bypass"] == "simple":
            out = out + x
        elif self.spec["bypass"] == "complex":
            out = out + self.bypass(x)
        return out
# </kind>


# <kind dwsep>
class DWSep(Block):
    """[pool] -> dw3x3/stride BN act -> pw 1x1 BN act (+ x or 1x1/stride conv(x))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        out = self.pw(self.dw(x))
        if self.spec["bypass"] == "simple":
            out = out + x
        elif self.spec["bypass"] == "complex":
            out = out + self.bypass(x)
        return out
# </kind>


# <kind inverted>
class InvertedResidual(Block):
    """[pool] -> [1x1 expand BN act -> shuffle] -> dw3x3/stride BN act -> 1x1 linear BN
    (+ x when the shape is kept)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = self.shuffle(self.expand(x)) if self.has("expand") else x
        y = self.project(self.dw(y))
        return x + y if self.spec["residual"] else y
# </kind>


# <kind xception>
class Xception(Block):
    """[pool] -> dw3x3/stride -> pw 1x1 BN act -> dw3x3 -> pw 1x1 BN; + x or proj(x) -> act."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = self.pw2(self.dw2(self.pw1(self.dw1(x))))
        return self.act(y + (self.proj(x) if self.has("proj") else x))
# </kind>


# <kind basic>
class Basic(Block):
    """[pool] -> conv3x3/stride BN act -> conv3x3 BN; + x or proj(x) -> act."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = self.conv2(self.conv1(x))
        return self.act(y + (self.proj(x) if self.has("proj") else x))
# </kind>


# <kind bottleneck>
class Bottleneck(Block):
    """[pool] -> conv1x1 BN act [-> shuffle] -> conv3x3/stride BN act -> conv1x1 BN;
    + x or proj(x) -> act."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = self.conv3(self.conv2(self.shuffle(self.conv1(x))))
        return self.act(y + (self.proj(x) if self.has("proj") else x))
# </kind>


# <kind shuffle_v1>
class ShuffleV1(Block):
    """[pool] -> gconv 1x1 BN act -> shuffle -> dw3x3/stride BN -> gconv 1x1 BN;
    + x (stride 1) or concat with avgpool3x3/2(x) (stride 2) -> act."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = self.expand(self.dw(self.shuffle(self.squeeze(x))))
        if self.spec["stride"] == 2:
            return self.act(torch.cat([F.avg_pool2d(x, 3, 2, 1), y], 1))
        return self.act(x + y)
# </kind>


# <kind shuffle_v2>
class ShuffleV2(Block):
    """[pool] -> split (stride 1) or dw3x3/2 BN -> 1x1 BN act (stride 2) | 1x1 BN act ->
    dw3x3/stride BN -> 1x1 BN act; concat -> shuffle 2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        if self.spec["stride"] == 2:
            left, right = self.left_pw(self.left_dw(x)), x
        else:
            left, right = x.chunk(2, dim=1)
        right = self.right_pw2(self.right_dw(self.right_pw1(right)))
        return channel_shuffle(torch.cat([left, right], 1), 2)
# </kind>


BLOCKS: dict[str, type[Block]] = {}  # __BLOCKS__


class Head(nn.Module):
    """linear: [conv1x1 BN act] -> avg pool -> dropout -> linear;
    conv: dropout -> conv1x1 act -> avg pool."""

    def __init__(self, spec: dict, act: str) -> None:
        super().__init__()
        self.dropout = nn.Dropout(spec["dropout"])
        for name, layer in spec["convs"].items():
            self.add_module(name, conv(layer, act))
        self.fc = nn.Linear(spec["features"], spec["classes"]) if spec["features"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fc is None:
            return self.classifier(self.dropout(x)).mean((2, 3))
        if "conv" in self._modules:
            x = self.conv(x)
        return self.fc(self.dropout(x.mean((2, 3))))


class Network(nn.Module):
    """stem conv [-> max pool] -> blocks -> head."""

    def __init__(self, plan: dict = PLAN) -> None:
        super().__init__()
        act = plan["act"]
        self.stem = nn.Sequential(conv(plan["stem"], act), max_pool(plan["stem_pool"]))
        self.blocks = nn.Sequential(*(BLOCKS[b["kind"]](b, act) for b in plan["blocks"]))
        self.head = Head(plan["head"], act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels (N, C, H, W) to the network's input: floats in [-1, 1]."""
    return images.float() / 127.5 - 1.0


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file, read with torch alone (no pickle involved)."""
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}
    data = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    body = memoryview(bytearray(data[8 + size :]))
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = dtypes[info["dtype"]]
        flat = torch.frombuffer(body[start:end], dtype=dtype) if end > start else \
            torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def load(directory: str | Path = ".", device: str = "cpu") -> Network:
    """The network with the weights in `directory`/weights.safetensors, in eval mode."""
    net = Network()
    net.load_state_dict(read_safetensors(Path(directory) / "weights.safetensors"))
    return net.to(device).eval()
