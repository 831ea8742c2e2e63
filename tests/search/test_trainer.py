"""search.trainer: budgets, determinism, early stop, NaN detection, evaluation and quality."""

from __future__ import annotations

import dataclasses
import statistics

import pytest
import torch
from torch import nn

from nas_space import ArchSpec, build, get_preset
from search.baselines import baseline_spec
from search.data import Dataset
from search.device import memory_format
from search.trainer import (
    RECIPES,
    NonFiniteLossError,
    TrainBudget,
    _Run,
    augment,
    autocast,
    evaluate,
    make_optimizer,
    normalize,
    pick_device,
    recalibrate_bn,
    seeded,
    train,
)


def fire_net(data: Dataset, width: float = 0.25, bn: bool = False, seed: int = 0) -> nn.Module:
    spec = get_preset("squeezenet1_1", in_channels=data.in_channels, input_size=data.input_size,
                      num_classes=data.num_classes, width=width)
    with seeded(seed):
        return build(dataclasses.replace(spec, bn=bn))


class Recorder(nn.Module):
    """A small real convnet that also records a checksum and the layout of every input batch."""

    def __init__(self, channels: int, classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes))
        self.seen: list[float] = []
        self.layout_ok: list[bool] = []  # in the device's layout (search.device.memory_format)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(float((x * torch.arange(x.shape[0]).view(-1, 1, 1, 1)).sum()))
            self.layout_ok.append(x.is_contiguous(memory_format=memory_format(x.device)))
        return self.net(x)


def params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# -- the budget -------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), [
    ("images", 0, "images: must be an integer >= 1"),
    ("images", 2.5, "images: must be an integer >= 1"),
    ("rungs", (500, 300, 1000), "rungs: must increase and end at images=1000"),
    ("rungs", (500, 900), "rungs: must increase and end at images=1000"),
    ("batch_size", 0, "batch_size: must be an integer >= 1"),
    ("lr", 0.0, "lr: must be > 0"),
    ("lr", float("nan"), r"lr: must be a finite number in \[0, inf\)"),
    ("momentum", 1.0, r"momentum: must be a finite number in \[0, 1.0\)"),
    ("warmup", -0.1, "warmup: must be a finite number"),
    ("val_images", 0, "val_images: must be an integer >= 1"),
    ("optimizer", "lbfgs", "optimizer: must be one of auto, sgd, adamw"),
    ("precision", "fp16", "precision: must be one of auto, fp32, bf16"),
    ("augment", "flip", "augment: must be one of none, crop, crop"),
])
def test_bad_budgets_are_value_errors(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainBudget(**{"images": 1000, field: value})  # type: ignore[arg-type]


def test_spread_rungs_and_schedule() -> None:
    b = TrainBudget.spread(20_000, 3, lr=0.2)
    assert b.rungs == (5000, 10_000, 20_000) and TrainBudget(700).rungs == (700,)
    assert b.lr_at(0) == pytest.approx(0.1 * b.lr)
    assert b.lr_at(round(b.warmup * 20_000)) == pytest.approx(b.lr)
    assert b.lr_at(20_000) == 0.0
    assert b.lr_at(12_000) < b.lr_at(8000)


def test_auto_recipe_picks_sgd_with_batchnorm_and_adamw_without(digits: Dataset) -> None:
    budget = TrainBudget(1000)
    with_bn = budget.resolve(fire_net(digits, bn=True))
    without = budget.resolve(fire_net(digits, bn=False))
    assert with_bn.optimizer == "sgd" and without.optimizer == "adamw"
    for b in (with_bn, without):
        assert {k: getattr(b, k) for k in RECIPES[b.optimizer]} == RECIPES[b.optimizer]
    assert TrainBudget(1000, optimizer="sgd", lr=0.01).resolve(fire_net(digits)).lr == 0.01
    model = fire_net(digits, bn=False)
    assert isinstance(make_optimizer(model, budget), torch.optim.AdamW)


# -- determinism, shuffling, early stop -------------------------------------------------


def test_same_seed_gives_identical_results_on_cpu(digits: Dataset) -> None:
    budget = TrainBudget.spread(1200, 2, batch_size=64)
    models = [fire_net(digits) for _ in range(2)]
    results = [train(m, digits, budget, seed=5, device="cpu") for m in models]
    assert results[0].rungs == results[1].rungs
    assert [n for n, _ in results[0].rungs] == [600, 1200]
    assert torch.equal(params(models[0]), params(models[1]))


# One run on 8x8 digits at lr 0.2 is noisy and its numerics differ between CPU models
# (seed 1 cleared 0.75 in fp32 on one CPU and gave 0.74 on another), so the test asks the median
# of three seeds to clear six times chance in fp32 and five times chance in bf16, which
# learns slower on CPUs with native bf16 matrix units (0.66 seen on one).
@pytest.mark.parametrize(("precision", "floor"), [("fp32", 0.6), ("bf16", 0.5)])
def test_both_precisions_learn(digits: Dataset, precision: str, floor: float) -> None:
    budget = TrainBudget(6000, batch_size=64, precision=precision)
    accs = [train(fire_net(digits, bn=True, seed=s), digits, budget, seed=s, device="cpu").val_acc
            for s in range(3)]
    assert statistics.median(accs) >= floor, accs


def test_baselines_repeat_exactly_on_the_cpu(digits: Dataset) -> None:
    """MobileNet v2 (depthwise convs) repeats bit for bit in the default precision."""
    spec, _ = baseline_spec("mobilenet_v2", (1, 8, 10), 0.3)
    accs = []
    for _ in range(3):
        with seeded(0):
            model = build(spec)
        accs.append(train(model, digits, TrainBudget.spread(600, 2), seed=0, device="cpu").rungs)
    assert accs[0] == accs[1] == accs[2]


def test_auto_precision_is_fp32_on_the_cpu() -> None:
    assert not autocast(torch.device("cpu"))._enabled
    assert not autocast(torch.device("cpu"), "fp32")._enabled
    assert autocast(torch.device("cpu"), "bf16")._enabled


def test_a_different_seed_gives_a_different_shuffle(digits: Dataset) -> None:
    budget = TrainBudget(640, batch_size=64)
    seen = []
    for seed in (1, 1, 2):
        with seeded(0):
            model = Recorder(1, 10)
        train(model, digits, budget, seed=seed, device="cpu")
        assert len(model.seen) == 10 and all(model.layout_ok)
        seen.append(model.seen)
    assert seen[0] == seen[1]
    assert seen[0][0] != seen[2][0]


def test_training_leaves_the_global_rng_alone(digits: Dataset) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(fire_net(digits), digits, TrainBudget(256), seed=0, device="cpu")
    assert torch.equal(torch.rand(3), expected)


def test_on_rung_false_stops_early(digits: Dataset) -> None:
    calls: list[tuple[int, float]] = []

    def stop(seen: int, acc: float) -> bool:
        calls.append((seen, acc))
        return False

    result = train(fire_net(digits), digits, TrainBudget.spread(2000, 3), seed=0, device="cpu",
                   on_rung=stop)
    assert result.stopped and calls == result.rungs and [n for n, _ in calls] == [500]


def test_recalibrate_bn_measures_the_batch_statistics(digits: Dataset) -> None:
    model = nn.Sequential(nn.BatchNorm2d(1), nn.Dropout(0.5))
    model[0].running_mean.fill_(7.0)
    recalibrate_bn(model, digits.train_x, batch_size=100)
    x = normalize(digits.train_x)
    assert model[0].running_mean.item() == pytest.approx(x.mean().item(), abs=1e-4)
    assert model[0].running_var.item() == pytest.approx(x.var().item(), rel=1e-3)
    assert model[0].momentum == 0.1 and not model.training


def test_precise_bn_samples_every_class_of_a_sorted_training_set(digits: Dataset) -> None:
    """A user's folder lists its images class by class; precise BN must not see only the
    first classes."""
    order = digits.train_y.argsort(stable=True)
    ordered = dataclasses.replace(digits, train_x=digits.train_x[order],
                                  train_y=digits.train_y[order])
    run = _Run(fire_net(ordered, bn=True), ordered, TrainBudget(64, bn_images=256), 0,
               torch.device("cpu"))
    labels = {bytes(x.flatten().tolist()): int(y) for x, y in zip(ordered.train_x,
                                                                   ordered.train_y, strict=True)}
    seen = [labels[bytes(x.flatten().tolist())] for x in run.bn_x]
    assert len(seen) == 256 and set(seen) == set(range(10))
    # Each batch that precise BN runs must mix the classes too: batches of one or two
    # classes would miss the variance between classes (0.49 against 0.67 on a colour set).
    assert set(seen[:128]) == set(range(10))
    assert set(labels[bytes(x.flatten().tolist())] for x in ordered.train_x[:256]) < set(range(10))


def test_the_engine_learns_digits(digits: Dataset) -> None:
    model = fire_net(digits, width=0.5, bn=True)
    result = train(model, digits, TrainBudget.spread(6000, 3), seed=0, device="cpu")
    assert result.val_acc >= 0.6, result.rungs  # chance is 0.1
    assert result.rungs[-1][1] > result.rungs[0][1]
    assert result.images_per_s > 0 and result.train_seconds > result.eval_seconds > 0
    assert result.device == "cpu" and not result.stopped
    assert evaluate(model, digits.test_x, digits.test_y, device="cpu") >= 0.7


def test_an_absurd_learning_rate_raises_non_finite_loss(digits: Dataset) -> None:
    budget = TrainBudget(4000, lr=1e6, grad_clip=0.0)
    with pytest.raises(NonFiniteLossError) as e:
        train(fire_net(digits), digits, budget, seed=0, device="cpu")
    assert 0 < e.value.images_seen <= 4000
    assert "\n" not in str(e.value) and "non-finite loss" in str(e.value)


# -- augmentation, normalization, evaluation, devices --------------------------------


def test_augment_shifts_and_flips_whole_images() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8)
    out = augment(x, gen)
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert not torch.equal(out, x)
    centre = out[:, :, 6:10, 6:10]  # every output is a shifted (and maybe flipped) input
    for i in range(8):
        windows = [c.unfold(1, 4, 1).unfold(2, 4, 1) for c in (x[i], x[i].flip(2))]
        assert any((w == centre[i, :, None, None]).all(0).all(-1).all(-1).any() for w in windows)
    assert torch.equal(out, augment(x, torch.Generator().manual_seed(0)))


class PixelRecorder(nn.Module):
    """A small real convnet that keeps every training batch it is given, as uint8 pixels."""

    def __init__(self, channels: int, classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels, 4, 3, padding=1), nn.ReLU(),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, classes))
        self.batches: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.batches.append(((x.detach() + 1) * 127.5).round().to(torch.uint8))
        return self.net(x)


def seen_images(data: Dataset, mode: str) -> tuple[set[bytes], set[bytes]]:
    """(the images the trainer's batches held, the training images), as raw bytes."""
    with seeded(0):
        model = PixelRecorder(data.in_channels, data.num_classes)
    train(model, data, TrainBudget(256, augment=mode), seed=0, device="cpu")
    seen = {bytes(im.flatten().tolist()) for b in model.batches for im in b}
    return seen, {bytes(im.flatten().tolist()) for im in data.train_x}


def test_augment_none_feeds_the_training_images_unchanged(digits: Dataset) -> None:
    seen, originals = seen_images(digits, "none")
    assert len(seen) > 200 and seen <= originals


@pytest.mark.parametrize("mode", ["crop", "crop+flip"])
def test_augment_crop_changes_the_pixels(digits: Dataset, mode: str) -> None:
    seen, originals = seen_images(digits, mode)
    assert len(seen - originals) > 100


def test_the_dataset_default_augmentation_applies_unless_the_budget_overrides(
        digits: Dataset) -> None:
    natural = dataclasses.replace(digits, augment="crop+flip")
    checks = []
    for data, mode in ((digits, None), (natural, None), (natural, "none"), (digits, "crop+flip")):
        with seeded(0):
            model = Recorder(1, 10)
        train(model, data, TrainBudget(128, batch_size=64, augment=mode), seed=0, device="cpu")
        checks.append(model.seen)
    assert checks[0] == checks[2] and checks[1] == checks[3] and checks[0] != checks[1]


def test_crop_shifts_without_flipping() -> None:
    x = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4).repeat(256, 1, 1, 1)
    out = augment(x, torch.Generator().manual_seed(0), "crop")
    rows = out[:, 0].float()
    assert bool((rows[:, :, 1:] >= rows[:, :, :-1]).all())  # never mirrored
    assert not torch.equal(out, x)
    assert augment(x, torch.Generator(), "none") is x
    with pytest.raises(ValueError, match="augment: must be one of"):
        augment(x, torch.Generator(), "flip")


def test_normalize_maps_pixels_to_minus_one_one() -> None:
    x = torch.tensor([0, 255, 51], dtype=torch.uint8).view(1, 3, 1, 1)
    assert normalize(x).flatten().tolist() == pytest.approx([-1.0, 1.0, -0.6])


def test_evaluate_counts_correct_predictions(digits: Dataset) -> None:
    class Always(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.eye(10)[3].expand(x.shape[0], 10)

    expected = float((digits.test_y == 3).float().mean())
    acc = evaluate(Always(), digits.test_x, digits.test_y, device="cpu", batch_size=50)
    assert acc == pytest.approx(expected)


def test_pick_device() -> None:
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device: must be auto, cpu or cuda"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_cuda(digits: Dataset) -> None:
    """bf16 autocast by default; BN, since a net without it swings with the seed at 6000 images."""
    result = train(fire_net(digits, bn=True), digits, TrainBudget(6000), seed=0, device="cuda")
    assert result.device.startswith("cuda") and result.val_acc >= 0.75, result.rungs


@pytest.mark.slow
@pytest.mark.parametrize("bn", [True, False])
def test_one_epoch_of_fashion_mnist(fashion: Dataset, bn: bool) -> None:
    """squeezenet1_1 x0.25 (47K params): with BN >= 0.85 (0.887 measured); the plain
    preset >= 0.82 (0.842 measured)."""
    with seeded(0):
        model = fire_net(fashion, width=0.25, bn=bn)
    result = train(model, fashion, TrainBudget.spread(len(fashion.train_y), 4), seed=0)
    print(f"squeezenet1_1 x0.25 bn={bn}, 1 epoch: {result.rungs}, {result.train_seconds:.0f} s")
    assert result.val_acc >= (0.85 if bn else 0.82), result.rungs


def test_the_cpu_trains_in_the_default_layout() -> None:
    """oneDNN's single-threaded channels_last backward corrupts the heap for some nets."""
    x = normalize(torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8))
    assert memory_format(torch.device("cpu")) == torch.contiguous_format
    assert x.is_contiguous() and not x.is_contiguous(memory_format=torch.channels_last)
    assert memory_format(torch.device("cuda")) == torch.channels_last


#: A net of the resnet space (8x8 digits, 4 to 52 channels) whose training, single-threaded
#: in channels_last, aborted the process: oneDNN's backward corrupted the heap (torch 2.14.1).
def _bottleneck(sr: float, stride: int, w_out: int) -> dict[str, object]:
    return {"bypass": "none", "groups": 1, "kind": "bottleneck", "pct3x3": 0.5, "pool": "none",
            "spatial_groups": 1, "squeeze_groups": 1, "sr": sr, "stride": stride, "w_out": w_out}


ABORTED_IN_CHANNELS_LAST = {
    "act": "relu", "bn": True, "in_channels": 1, "input_size": 8, "num_classes": 10,
    "stem": {"kernel": 3, "padding": 1, "pool": "none", "stride": 1, "w_out": 4},
    "blocks": [*[_bottleneck(0.25, 1, 4)] * 3, _bottleneck(5 / 14, 2, 28),
               *[_bottleneck(5 / 14, 1, 28)] * 2, _bottleneck(9 / 26, 2, 52),
               _bottleneck(9 / 26, 1, 52)],
    "head": {"dropout": 0.0, "kind": "linear", "w_mid": 0},
}


def test_a_single_threaded_cpu_worker_trains_the_net_that_once_aborted(digits: Dataset) -> None:
    """A search worker on the CPU runs single-threaded; this net must train there."""
    spec = ArchSpec.from_dict(ABORTED_IN_CHANNELS_LAST)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(build(spec), digits, TrainBudget(1920, batch_size=64), seed=0,
                       device="cpu")
    finally:
        torch.set_num_threads(before)
    assert result.rungs and 0.0 <= result.val_acc <= 1.0
