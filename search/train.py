"""Train one network and report its accuracy and cost.

    python -m search.train --preset squeezenet1_1 --width 0.25 --epochs 1
    python -m search.train --config net.json --dataset digits --images 5000
    python -m search.train --config DIR/config.json --epochs 40 --out DIR   # full training

The network is a preset (built for the dataset's input shape) or an ArchSpec JSON
file. Validation accuracy is printed at each evaluation point, and the test
accuracy once at the end. With --out, the network is trained fully (search.fulltrain:
crop+flip augmentation unless --augment says otherwise, a cosine schedule over the
epochs, a checkpoint every epoch, resumed automatically) and the weights, ONNX and
torch.export programs and the model card are written into the bundle DIR. Bad input
exits with a one-line error and status 2; a training run whose loss turns NaN/inf exits
with status 3; Ctrl-C exits 130 and SIGTERM 143 (a full training resumes from its last
checkpoint).
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from nas_space import ArchSpec, build, cost, get_preset, list_presets
from nas_space.config import read_config
from search.augment import AUGMENTS
from search.data import DataError, Dataset, list_datasets, load_dataset
from search.fulltrain import RECIPES as FULL
from search.fulltrain import CheckpointError, FullRecipe, train_full, write_result
from search.interrupt import exit_code, sigterm_as_interrupt
from search.recipe import RECIPES as SHORT
from search.trainer import NonFiniteLossError, TrainBudget, evaluate, pick_device, seeded, train
from search.weights import WeightsError

EXIT_USAGE, EXIT_NONFINITE = 2, 3


class UsageError(Exception):
    """A user mistake on the command line; printed as one line, exit status 2."""


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m search.train",
        description="Short-train one network on a real dataset; print validation and test "
                    "accuracy, MFLOPs (multiply-adds) and params.",
        epilog="Datasets: " + ", ".join(list_datasets()) + ". Fashion-MNIST comes from the apt "
               "package dataset-fashion-mnist, --data-root, or --download. See docs/training.md.",
    )
    net = p.add_mutually_exclusive_group(required=True)
    net.add_argument("--preset", metavar="NAME",
                     help="a preset network: " + ", ".join(list_presets()))
    net.add_argument("--config", metavar="FILE", type=Path, help="an ArchSpec JSON file")
    p.add_argument("--dataset", default=None,
                   help="dataset name (default: the one named by the bundle's card.json "
                        "beside --config, else fashion-mnist)")
    p.add_argument("--data-root", metavar="DIR", help="directory holding the dataset's files")
    p.add_argument("--download", action="store_true", help="allow torchvision to download the data")
    p.add_argument("--image-size", type=int, metavar="PX",
                   help="resize images to PX x PX (default: their own size)")
    p.add_argument("--augment", choices=AUGMENTS,
                   help="training augmentation: none, crop (random shifts) or crop+flip "
                        "(shifts and left-right flips, for photos whose sides are alike); "
                        "default: the dataset's (crop+flip for cifar10, none for the others); "
                        "with --out, crop+flip, the full-training recipe's")
    p.add_argument("--width", type=float, default=1.0, help="preset width multiplier (default 1.0)")
    p.add_argument("--bn", action="store_true", help="turn BatchNorm on in the network")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=float, default=1.0,
                        help="passes over the training split (default 1)")
    budget.add_argument("--images", type=int, help="training images to see (instead of --epochs)")
    p.add_argument("--evals", type=int, default=4,
                   help="validation points, evenly spaced (default 4)")
    p.add_argument("--batch-size", type=int, metavar="N",
                   help=f"training batch (default {TrainBudget.batch_size}; "
                        f"{FullRecipe.batch_size} with --out)")
    p.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's, "
                   f"{SHORT['sgd']['lr']:g} with SGD for BN nets, {SHORT['adamw']['lr']:g} "
                   f"with AdamW for plain ones; {FULL['sgd'][0]:g} and {FULL['adamw'][0]:g} "
                   "with --out)")
    p.add_argument("--seed", type=int, default=0, help="init and shuffle seed (default 0)")
    p.add_argument("--split-seed", type=int, default=0, help="train/validation split seed")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    full = p.add_argument_group("full training (an export bundle)")
    full.add_argument("--out", metavar="DIR", type=Path,
                      help="train fully with the full-training recipe (--epochs, a whole "
                           "number) and write weights, model.onnx, model.pt2 and the model card "
                           "into the bundle DIR; checkpoints every epoch and resumes from "
                           "DIR/checkpoint.pt when it exists")
    full.add_argument("--resume", action="store_true",
                      help="with --out: require the checkpoint (an error if there is none)")
    return p


def bundle_dataset(config: Path | None) -> str:
    """The dataset that the bundle holding `config` was searched on (its card says), else
    Fashion-MNIST: a bundle trains on its own data without --dataset."""
    from search.bundle import read_card

    name = read_card(Path(config).parent).get("dataset") if config is not None else None
    return name if isinstance(name, str) and name else "fashion-mnist"


def load_spec(args: argparse.Namespace, data: Dataset) -> tuple[str, ArchSpec]:
    """The network to train, checked against the dataset's input shape."""
    if args.preset:
        spec = get_preset(args.preset, in_channels=data.in_channels, input_size=data.input_size,
                          num_classes=data.num_classes, width=args.width)
        name = f"{args.preset} (width {args.width:g})"
    else:
        spec = read_config(args.config)
        name = str(args.config)
        want = (data.in_channels, data.input_size, data.num_classes)
        have = (spec.in_channels, spec.input_size, spec.num_classes)
        if have != want:
            raise UsageError(
                f"config: the spec is for {have[0]}x{have[1]}x{have[1]} inputs and {have[2]} "
                f"classes, but {data.name} has {want[0]}x{want[1]}x{want[1]} and {want[2]} classes")
    return name, dataclasses.replace(spec, bn=True) if args.bn else spec


def make_budget(args: argparse.Namespace, data: Dataset) -> TrainBudget:
    """The budget in images with `--evals` evenly spaced validation points."""
    images = args.images if args.images is not None else round(args.epochs * len(data.train_y))
    if images < 1:
        raise UsageError(f"budget: --epochs/--images give {images} training images; need >= 1")
    if args.evals < 1:
        raise UsageError(f"--evals: must be >= 1, got {args.evals}")
    rungs = sorted({max(1, round(images * (k + 1) / args.evals)) for k in range(args.evals)})
    batch = TrainBudget.batch_size if args.batch_size is None else args.batch_size
    return TrainBudget(images, tuple(rungs), batch_size=batch, lr=args.lr)


def run(args: argparse.Namespace) -> None:
    """Load, build, train, evaluate and print."""
    if args.threads is not None:
        if args.threads < 1:
            raise UsageError(f"--threads: must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    try:  # device, names, widths, specs, budgets come from the user: ValueErrors are usage
        device = pick_device(args.device)
        data = load_dataset(args.dataset or bundle_dataset(args.config), args.data_root,
                            seed=args.split_seed,
                            download=args.download, image_size=args.image_size,
                            augment=args.augment)
        name, spec = load_spec(args, data)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.out is not None:
        return run_full(args, data, spec, device)
    if args.resume:
        raise UsageError("--resume: only with --out DIR (full training)")
    try:
        budget = make_budget(args, data)
    except ValueError as e:
        raise UsageError(str(e)) from None
    c = cost(spec)
    print(f"{name} on {data!r}, augment {data.augment}")
    print(f"  {budget.images:,} training images = {budget.images / len(data.train_y):.2f} epochs "
          f"= {-(-budget.images // budget.batch_size):,} steps of {budget.batch_size}")
    print(f"  {c.macs / 1e6:.2f} MFLOPs (multiply-adds), {c.params:,} params, device {device}")
    with seeded(args.seed):
        model = build(spec)

    def report(seen: int, acc: float) -> bool:
        tqdm.write(f"  {seen:>9,} images  val_acc {acc:.4f}")
        return True

    result = train(model, data, budget, seed=args.seed, device=device, on_rung=report,
                   progress=not args.quiet)
    test = evaluate(model, data.test_x, data.test_y, device=device)
    print(f"val_acc {result.val_acc:.4f}  test_acc {test:.4f}  "
          f"mflops {c.macs / 1e6:.2f}  params {c.params}  "
          f"train {result.train_seconds:.1f} s  {result.images_per_s:,.0f} img/s "
          f"on {result.device} ({result.optimizer}, lr {result.lr:g})")


def run_full(args: argparse.Namespace, data: Dataset, spec: ArchSpec,
             device: torch.device) -> None:
    """Full training into the bundle at --out (see search.fulltrain)."""
    if args.images is not None or args.epochs != int(args.epochs):
        raise UsageError("--epochs: full training (--out) takes a whole number of epochs")
    recipe = FullRecipe(int(args.epochs), batch_size=args.batch_size or FullRecipe.batch_size,
                        lr=args.lr, seed=args.seed, augment=args.augment or FullRecipe.augment)
    c = cost(spec)
    print(f"{args.config or args.preset} on {data!r}, device {device}")
    print(f"  {c.macs / 1e6:.2f} MFLOPs (multiply-adds), {c.params:,} params")
    model, result = train_full(spec, data, recipe, args.out, device=device,
                               progress=not args.quiet, require_checkpoint=args.resume)
    command = "python -m search.train " + shlex.join(sys.argv[1:] if args.argv is None
                                                      else args.argv)
    write_result(args.out, spec, model, result, recipe, command, data.name)
    print(f"val_acc {result.val_acc:.4f}  test_acc {result.test_acc:.4f}  "
          f"{result.epochs} epochs in {result.seconds / 60:.1f} min on {result.device}; "
          f"bundle: {args.out}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parser().parse_args(argv)
    args.argv = argv
    try:
        with sigterm_as_interrupt():
            run(args)
    except NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_NONFINITE
    except (UsageError, DataError, WeightsError, CheckpointError) as e:  # others are bugs
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (search.interrupt)
        print("error: interrupted", file=sys.stderr)
        return exit_code(e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
