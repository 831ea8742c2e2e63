"""cost(spec): exact analytic cost from the same layer plans build() uses; no tracing."""

from __future__ import annotations

from dataclasses import dataclass

from nas_space.blocks import BLOCKS, head_plan, stem_conv, walk
from nas_space.layers import Conv
from nas_space.spec import ArchSpec


@dataclass(frozen=True)
class Cost:
    """macs: multiply-accumulates of conv and linear layers (fvcore's "flops" convention);
    params: parameter count; activations: conv/linear output elements; size_bytes: fp32 weights."""

    macs: int
    params: int
    activations: int
    size_bytes: int

    @property
    def mflops(self) -> float:
        return self.macs / 1e6

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.macs + other.macs, self.params + other.params,
                    self.activations + other.activations, self.size_bytes + other.size_bytes)


ZERO = Cost(0, 0, 0, 0)


@dataclass(frozen=True)
class CostRow:
    """One part of a network (stem, a block, head) with its shape and cost."""

    name: str
    kind: str
    c_in: int
    c_out: int
    size_in: int
    size_out: int
    cost: Cost


def convs_cost(convs: list[tuple[Conv, int]]) -> Cost:
    """Total cost of convs, each given with its input size."""
    macs = sum(c.macs(s) for c, s in convs)
    params = sum(c.params() for c, _ in convs)
    acts = sum(c.activations(s) for c, s in convs)
    return Cost(macs, params, acts, 4 * params)


def cost_rows(spec: ArchSpec) -> list[CostRow]:
    """The stem, every block and the head, each with its cost; they sum to cost(spec)."""
    stem = stem_conv(spec)
    rows = [CostRow("stem", "conv", spec.in_channels, stem.c_out, spec.input_size,
                    stem.out_size(spec.input_size), convs_cost([(stem, spec.input_size)]))]
    for i, b, c_in, size_in, size_out in walk(spec):
        plan = BLOCKS[b.kind].plan(b, c_in, spec.bn).values()
        c = convs_cost([(conv, size_out if conv.at_out else size_in) for conv in plan])
        rows.append(CostRow(f"blocks[{i}]", b.kind, c_in, b.w_out, size_in, size_out, c))
    last = rows[-1]
    convs, features = head_plan(spec, last.c_out)
    head = convs_cost([(conv, last.size_out) for conv in convs.values()])
    if features:
        fc = features * spec.num_classes + spec.num_classes
        head = head + Cost(features * spec.num_classes, fc, spec.num_classes, 4 * fc)
    rows.append(CostRow("head", spec.head.kind, last.c_out, spec.num_classes, last.size_out, 1,
                        head))
    return rows


def cost(spec: ArchSpec) -> Cost:
    """The whole network's cost; equals fvcore's conv+linear count and sum(p.numel())."""
    total = ZERO
    for row in cost_rows(spec):
        total = total + row.cost
    return total
