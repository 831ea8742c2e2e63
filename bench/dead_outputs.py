"""Why a space's worst models fail: their class outputs, and the models without the ReLU
that follows SqueezeNet's conv classifier.

    python -m bench.dead_outputs                          # the squeeze space, 4 worst models
    python -m bench.dead_outputs --variant squeeze --worst 6

Takes the --worst lowest-accuracy models of one space (--variant) of
studies/spaces_compare.toml, read from its storage as bench.findings reads it, and trains
each again with its trial's seed, on the study's dataset and budget:

- as the search trained it. The run counts the classes the network predicts on the
  validation images and the class outputs that are zero on every one of them: behind a
  ReLU, an output that never fires can never win, and a network left with one live
  output scores chance;
- with the classifier's ReLU replaced by the identity, an ablation made on the built
  network (the space itself has no such option); all else the same.

The section (docs/RESULTS.md, dead_outputs) lists both accuracies per model beside the
stored one. A model whose head has no ReLU (a linear classifier) has no such outputs.
"""

from __future__ import annotations

import argparse
import sys

import optuna
import torch
from optuna.trial import FrozenTrial
from torch import nn

from bench.findings import stored
from bench.results import machine, publish
from nas_space import ArchSpec, build
from search import records as R
from search.augment import normalize
from search.budgets import parse_budget
from search.data import DataError, Dataset, load_dataset
from search.evaluation import EVAL_BATCH
from search.recipe import TrainBudget
from search.run import config_from_args, parser
from search.storage import StorageError
from search.trainer import seeded, train

STUDY = "spaces_compare"


def outputs(model: nn.Module, data: Dataset, n_val: int) -> torch.Tensor:
    """The class outputs of a trained model (in eval mode) on the first n_val validation
    images, the ones the trainer scores."""
    model.eval().cpu()
    with torch.inference_mode():
        return torch.cat([model(normalize(x))
                          for x in data.val_x[:n_val].split(EVAL_BATCH["cpu"])])


def without_relu(model: nn.Module) -> nn.Module:
    """The model with the ReLU after its conv classifier made the identity (if it has one)."""
    head = getattr(model, "head", None)
    classifier = getattr(head, "classifier", None)
    if isinstance(classifier, nn.Sequential) and isinstance(classifier[-1], nn.ReLU | nn.ReLU6):
        classifier[-1] = nn.Identity()
    return model


def retrain(trial: FrozenTrial, data: Dataset, budget: TrainBudget, ablate: bool
            ) -> tuple[float, nn.Module]:
    """The final rung's accuracy and the model, trained again with the trial's seed."""
    seed = int(trial.user_attrs[R.SEED])
    with seeded(seed):  # init and dropout draw from the trial's seed, as in the search
        model = build(ArchSpec.from_json(trial.user_attrs[R.SPEC]))
        model = without_relu(model) if ablate else model
        result = train(model, data, budget, seed=seed)
    return result.rungs[-1][1], model


def rows(trials: list[FrozenTrial], data: Dataset, budget: TrainBudget) -> list[str]:
    """One Markdown row per model, printed as it is measured."""
    out = []
    for t in trials:
        acc, model = retrain(t, data, budget, ablate=False)
        logits = outputs(model, data, budget.val_images or len(data.val_y))
        dead = int((logits <= 0).all(0).sum())
        predicted = len(set(logits.argmax(1).tolist()))
        ablated, _ = retrain(t, data, budget, ablate=True)
        out.append(f"| {t.number} | {t.user_attrs[R.PARAMS]:,} | {t.user_attrs[R.VAL_ACC]:.4f} "
                   f"| {acc:.4f} | {predicted} | {dead} of {data.num_classes} | {ablated:.4f} |")
        print(out[-1], flush=True)
    return out


def section(variant: str, worst: int, done: list[str], budget_name: str,
            dataset: str) -> str:
    lines = [f"## Dead class outputs: the {worst} worst models of the `{variant}` space", "",
             f"`python -m bench.dead_outputs --variant {variant} --worst {worst}`: the models "
             f"of `studies/{STUDY}.toml` with the lowest validation accuracy, trained again "
             f"with their trials' seeds on {dataset} at the `{budget_name}` budget; "
             f"{machine()}.", "",
             "| trial | params | stored acc | retrained acc | classes predicted "
             "| class outputs zero on every image | acc without the classifier's ReLU |",
             "|---|---|---|---|---|---|---|", *done]
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.dead_outputs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", default="squeeze", help="the space (a variant of "
                   f"studies/{STUDY}.toml) whose worst models are trained again (squeeze)")
    p.add_argument("--worst", type=int, default=4, help="how many of its worst models (4)")
    p.add_argument("--storage", help="Optuna storage URL of the study (default: "
                   "$NAS_STORAGE, else the study file's)")
    p.add_argument("--dataset", help="train on this dataset (default: the study's)")
    p.add_argument("--budget", help="train for this budget (default: the study's)")
    p.add_argument("--no-write", action="store_true", help="print the section only")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        studies = {s.run.variant: s for s in stored(STUDY, args.storage)}
        if args.variant not in studies:
            raise ValueError(f"--variant: {args.variant!r} is not a space of "
                             f"studies/{STUDY}.toml; choose from {', '.join(studies)}")
        if args.worst < 1:
            raise ValueError(f"--worst: must be >= 1, got {args.worst}")
        s = studies[args.variant]
        if not s.trials:
            raise ValueError(f"{s.run.study}: no trained models stored; run `python -m "
                             f"search.run --study-file studies/{STUDY}.toml` first")
        cfg = config_from_args(parser().parse_args(s.run.argv))
        name, budget_name = args.dataset or cfg.dataset, args.budget or cfg.budget
        data = load_dataset(name)
        budget = parse_budget(budget_name).train_budget(len(data.train_y), len(data.val_y))
    except (ValueError, StorageError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    worst = sorted(s.trials, key=lambda t: t.user_attrs[R.VAL_ACC])[:args.worst]
    torch.set_num_threads(1)  # as each of the search's CPU workers, so the run can repeat it
    done = rows(worst, data, budget)
    publish("dead_outputs", section(args.variant, len(worst), done, budget_name, name),
            write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
