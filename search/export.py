"""Export one trial of a study as a bundle that loads without this project.

    python -m search.export --study NAME --pick knee --out DIR
    python -m search.export --study NAME --trial 42 --out DIR --retrain 30

The bundle (see search.bundle) holds config.json, a standalone model.py, the trained
weights as safetensors, model.pt2 (torch.export) and model.onnx, both with a dynamic
batch dimension, and a model card (README.md). The weights come from the study's
artifact store (search.weights). A trial whose weights were not kept gets a bundle
without them, and a one-line note; --retrain EPOCHS trains them (search.fulltrain).
Bad input exits with a one-line error and status 2; a --retrain whose loss turns NaN/inf
exits with status 3; Ctrl-C exits 130 and SIGTERM 143.
"""

from __future__ import annotations

import argparse
import io
import shlex
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from nas_space import ArchSpec
from nas_space.config import ConfigError, spec_from_config
from search import bundle, weights
from search import records as R
from search.augment import AUGMENTS
from search.data import DataError, Dataset, load_dataset
from search.fulltrain import CheckpointError, FullRecipe, train_full, write_result
from search.interrupt import exit_code, sigterm_as_interrupt
from search.picks import NEEDS_VALUE, RULES, PickError, pick
from search.report import front, points
from search.storage import StorageError, default_storage_url, open_storage, redact
from search.trainer import NonFiniteLossError, evaluate, pick_device

EXIT_USAGE = 2


class ExportError(Exception):
    """A trial that cannot be exported, or a user mistake; one line, exit status 2."""


@dataclass
class Exported:
    """What export_trial wrote: the trial, the files, and a note when weights are missing."""

    number: int
    files: list[str]
    note: str = ""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m search.export",
        description="Export a trial of a study as a bundle: config.json, a standalone model.py, "
                    "weights.safetensors, model.pt2, model.onnx and a model card (README.md).",
        epilog="Pick rules: knee (farthest above the line joining the front's ends in accuracy "
               "and log MACs; else the most accurate), max-acc, max-acc-under-mflops X, "
               "min-mflops-over-acc A.")
    p.add_argument("--study", required=True, help="the study's name")
    p.add_argument("--storage", default=None,
                   help="Optuna storage URL (default: $NAS_STORAGE, else the journal "
                        "file studies/studies.log)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--trial", type=int, metavar="N", help="export trial number N")
    which.add_argument("--pick", nargs="+", metavar=("RULE", "VALUE"),
                       help="pick a front member: " + ", ".join(
                           f"{r} {NEEDS_VALUE[r].split()[0]}" if r in NEEDS_VALUE else r
                           for r in RULES))
    p.add_argument("--max-params", type=int, metavar="N",
                   help="with --pick: consider only front members with fewer than N params")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="bundle directory")
    p.add_argument("--retrain", type=int, metavar="EPOCHS",
                   help="train the network fully for EPOCHS epochs into the bundle first")
    p.add_argument("--artifacts", type=Path, metavar="DIR",
                   help="the weights' artifact store (default: the one the study recorded)")
    p.add_argument("--data-root", metavar="DIR", help="directory holding the dataset's files")
    p.add_argument("--download", action="store_true", help="allow torchvision to download data")
    p.add_argument("--no-test", dest="test", action="store_false",
                   help="do not measure test accuracy (when the study has not stored it)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of --retrain (default 0)")
    p.add_argument("--augment", choices=AUGMENTS, default=FullRecipe.augment,
                   help="augmentation of --retrain: none, crop (random shifts) or crop+flip "
                        "(shifts and left-right flips, for photos whose sides are alike; "
                        "default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def open_existing(storage_url: str, name: str) -> optuna.Study:
    """A stored study, read as is; ExportError naming the studies there if it is absent."""
    try:
        storage = open_storage(storage_url, create=False)
    except StorageError as e:
        raise ExportError(str(e)) from None
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = ", ".join(s.study_name for s in optuna.get_all_study_summaries(storage))
        raise ExportError(f"--study: no study {name!r} in {redact(storage_url)}; "
                          f"studies there: {names or 'none'}") from None


def chosen_number(study: optuna.Study, args: argparse.Namespace) -> int:
    """The trial number --trial names or --pick selects from the searched front."""
    if args.trial is not None:
        return args.trial
    rule, *rest = args.pick
    if len(rest) > 1 or (rest and rule not in NEEDS_VALUE):
        raise ExportError(f"--pick: {' '.join(args.pick)!r} is not a rule and its value")
    try:
        value = float(rest[0]) if rest else None
    except ValueError:
        raise ExportError(f"--pick {rule}: {rest[0]!r} is not a number") from None
    member = pick(front(points(study, R.ROLE_SEARCH)), rule, value, args.max_params)
    return member.number


def exportable(study: optuna.Study, number: int) -> FrozenTrial:
    """The trained trial to export (a duplicate's original); ExportError says why not."""
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        raise ExportError(f"--trial: study {study.study_name!r} has no trial {number} "
                          f"(trials 0-{max(trials, default=-1)})")
    t = trials[number]
    status = t.user_attrs.get(R.STATUS)
    if status == R.DUPLICATE and t.user_attrs.get(R.DUPLICATE_OF) in trials:
        return exportable(study, int(t.user_attrs[R.DUPLICATE_OF]))
    why = {TrialState.FAIL: f"failed ({t.user_attrs.get(R.FAIL_REASON, 'no reason stored')})",
           TrialState.PRUNED: "was stopped early (pruned), so it was never fully trained",
           TrialState.RUNNING: "is still running", TrialState.WAITING: "has not started"}
    if t.state in why:
        raise ExportError(f"trial {number} {why[t.state]}; export a completed trial")
    if status == R.INFEASIBLE:
        raise ExportError(f"trial {number} is infeasible (over a constraint); it was never built")
    if R.SPEC not in t.user_attrs:
        raise ExportError(f"trial {number} has no stored architecture spec")
    return t


def trial_spec(t: FrozenTrial) -> ArchSpec:
    try:
        return spec_from_config(t.user_attrs[R.SPEC])
    except ConfigError as e:
        raise ExportError(f"trial {t.number}: the stored spec is refused ({e})") from None


def card_for(study: optuna.Study, t: FrozenTrial, storage_url: str, command: str) -> dict:
    a, s = t.user_attrs, study.user_attrs
    rungs = ", ".join(f"{int(r[0]):,}" for r in a.get(R.RUNGS, []))
    return {
        "title": f"{study.study_name} trial {t.number}", "study": study.study_name,
        "trial": t.number, "storage": redact(storage_url), "dataset": s.get(R.DATASET),
        "val_acc": a.get(R.VAL_ACC), "search_command": s.get(R.COMMAND),
        "export_command": command,
        "search_recipe": (f"the search's short training: {s.get(R.BUDGET, '?'):,} images "
                          f"(validation measured at {rungs or '-'} images), seed "
                          f"{a.get(R.SEED, '?')}; see docs/training.md of nas-explorer"),
    }


def stored_test_acc(study: optuna.Study, number: int) -> float | None:
    value = study.user_attrs.get(R.TEST_ACC, {}).get(str(number))
    return float(value) if isinstance(value, int | float) else None


def export_trial(study: optuna.Study, number: int, out: Path, *, storage_url: str,
                 artifacts: Path | None = None, data: Dataset | None = None,
                 command: str = "", device: str = "auto") -> Exported:
    """Write the bundle of trial `number` to `out`: the one code path of CLI and dashboard."""
    t = exportable(study, number)
    spec = trial_spec(t)
    state = weights.load(study, t, artifacts)
    card = card_for(study, t, storage_url, command)
    card["test_acc"] = stored_test_acc(study, t.number)
    if state is not None:
        try:
            model = bundle.model_with(spec, state)
        except RuntimeError as e:
            raise ExportError(f"trial {t.number}: the stored weights do not fit its spec "
                              f"({str(e).splitlines()[0]})") from None
        if card["test_acc"] is None and data is not None:
            card["test_acc"] = round(evaluate(model, data.test_x, data.test_y,
                                              device=pick_device(device)), 4)
    files = bundle.write(out, spec, state, card)
    note = "" if state is not None else (
        f"trial {t.number} has no stored weights in the study's artifact store (it keeps "
        "the front and the near-front), so the bundle has no weights.safetensors, model.pt2 "
        "or model.onnx; add them with "
        f"`python -m search.train --config {out / bundle.CONFIG} --epochs E --out {out}` "
        "or export with --retrain EPOCHS")
    return Exported(t.number, files, note)


def bundle_zip(storage_url: str, name: str, number: int) -> tuple[bytes, Exported]:
    """The bundle of a stored trial as zip bytes (the dashboard's download)."""
    study = open_existing(storage_url, name)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{study.study_name}-trial-{number}"
        command = (f"python -m search.export --study {shlex.quote(study.study_name)} "
                   f"--trial {number} --out DIR")
        done = export_trial(study, number, out, storage_url=storage_url, command=command)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(out.iterdir()):
                z.write(path, f"{out.name}/{path.name}")
        return buf.getvalue(), done


#: What export_trial raises for a trial it cannot export (each a one-line message).
EXPORT_ERRORS = (ExportError, PickError, ConfigError, CheckpointError, DataError,
                 weights.WeightsError)


def needs_data(study: optuna.Study, args: argparse.Namespace, number: int) -> bool:
    return args.retrain is not None or (args.test and stored_test_acc(study, number) is None)


def run(args: argparse.Namespace, argv: list[str]) -> None:
    url = args.storage or default_storage_url()
    study = open_existing(url, args.study)
    number = chosen_number(study, args)
    if args.retrain is not None and args.retrain < 1:
        raise ExportError(f"--retrain: must be >= 1 epochs, got {args.retrain}")
    data = None
    if needs_data(study, args, exportable(study, number).number):
        data = load_dataset(study.user_attrs.get(R.DATASET, "fashion-mnist"), args.data_root,
                            download=args.download)
    command = "python -m search.export " + shlex.join(argv)
    done = export_trial(study, number, args.out, storage_url=url, artifacts=args.artifacts,
                        data=data, command=command, device=args.device)
    print(f"trial {done.number} of {args.study} -> {args.out}: {', '.join(done.files)}")
    if args.retrain is not None and data is not None:
        retrain(args, data, command)
    elif done.note:
        print(f"note: {done.note}")


def retrain(args: argparse.Namespace, data: Dataset, command: str) -> None:
    spec = bundle.read(args.out)[0]
    recipe = FullRecipe(args.retrain, seed=args.seed, augment=args.augment)
    model, result = train_full(spec, data, recipe, args.out, device=args.device,
                               progress=not args.quiet)
    write_result(args.out, spec, model, result, recipe, command, data.name)
    print(f"trained {result.epochs} epochs: val_acc {result.val_acc:.4f}  "
          f"test_acc {result.test_acc:.4f}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    try:
        with sigterm_as_interrupt():
            run(args, argv)
    except NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except EXPORT_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (search.interrupt)
        print("error: interrupted", file=sys.stderr)
        return exit_code(e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
