"""What a study stores: the names of trial and study attributes, in one place.

The search writes these and the dashboard and export read them. Every value is
plain JSON (no pickle). One trial of a study is one evaluated architecture:

trial.params               the sampled metaparameters (Optuna's own, so its tools work)
trial.values               one value per objective, in the order of study attr OBJECTIVES
trial.user_attrs:
  SPEC        the ArchSpec JSON string (build(ArchSpec.from_json(...)) remakes the net)
  DIGEST      ArchSpec.digest(), the duplicate key
  MACS, PARAMS, ACTIVATIONS, SIZE_BYTES   the analytic cost (ints)
  ROLE        "search" or "baseline"
  PRESET      the preset name, for baselines
  STATUS      "complete" | "stopped" (early stop at a rung) | "infeasible" (over a
              constraint, never built) | "duplicate" (reused DUPLICATE_OF's result) |
              "failed" (see FAIL_REASON)
  RUNGS       [[images_seen, val_acc], ...], the learning curve
  VAL_ACC     the validation accuracy at the last rung reached
  PRESET_WIDTH  the width multiplier a baseline preset was trained at
  TRAIN_SECONDS, IMAGES_PER_S, DEVICE, SEED
  LATENCY_MS  measured forward latency (batch 1) when it is an objective
  DUPLICATE_OF  the trial number whose result was reused
  FAIL_REASON   why a trial failed ("interrupted", "non-finite loss at ...", "surplus", ...)
  RUN         the id of the search.run invocation (a main process and its workers) that
              asked for a searched trial
  WORKER      "host:pid:start" of the process running the trial, so that a trial whose
              process died is found and failed (search.view.StudyView)
  CLAIMED     true on a trial that holds the claim to train its spec (see search.view)
  RETRY_OF    for a searched trial re-run after its worker died: the failed trial's number
study.user_attrs:
  OBJECTIVES  e.g. ["val_acc", "macs"]; DIRECTIONS e.g. ["maximize", "minimize"]
  SPACE, DATASET, BUDGET (images seen; the rungs are in FINGERPRINT), SEED, SAMPLER,
  CONSTRAINTS ({"max_mflops": ..., "max_params": ...}), COMMAND (how it was started)
  FINGERPRINT what the results depend on (search.config.fingerprint); a resume must match it
  TEST_ACC    {trial number: test accuracy} of the searched front members, computed once at
              the end of a run (finished trials take no new attributes, so it lives here)
"""

from __future__ import annotations

from typing import Final

SPEC: Final = "spec"
DIGEST: Final = "digest"
MACS: Final = "macs"
PARAMS: Final = "params"
ACTIVATIONS: Final = "activations"
SIZE_BYTES: Final = "size_bytes"
ROLE: Final = "role"
PRESET: Final = "preset"
PRESET_WIDTH: Final = "preset_width"
STATUS: Final = "status"
RUNGS: Final = "rungs"
VAL_ACC: Final = "val_acc"
TEST_ACC: Final = "test_acc"
TRAIN_SECONDS: Final = "train_seconds"
IMAGES_PER_S: Final = "images_per_s"
DEVICE: Final = "device"
SEED: Final = "seed"
LATENCY_MS: Final = "latency_ms"
DUPLICATE_OF: Final = "duplicate_of"
FAIL_REASON: Final = "fail_reason"
RUN: Final = "run"
WORKER: Final = "worker"
RETRY_OF: Final = "retry_of"
CLAIMED: Final = "claimed"

ROLE_SEARCH: Final = "search"
ROLE_BASELINE: Final = "baseline"

COMPLETE: Final = "complete"
STOPPED: Final = "stopped"
INFEASIBLE: Final = "infeasible"
DUPLICATE: Final = "duplicate"
FAILED: Final = "failed"

# study attributes
OBJECTIVES: Final = "objectives"
DIRECTIONS: Final = "directions"
SPACE: Final = "space"
DATASET: Final = "dataset"
BUDGET: Final = "budget"
AUGMENT: Final = "augment"
IMAGE_SIZE: Final = "image_size"
SAMPLER: Final = "sampler"
CONSTRAINTS: Final = "constraints"
COMMAND: Final = "command"
FINGERPRINT: Final = "fingerprint"

#: Objective names, what they read, and their direction. "macs" is shown as MFLOPs
#: (multiply-adds); values are stored in their natural unit (MACs, params, bytes, ms).
OBJECTIVE_DIRECTIONS: Final = {
    "val_acc": "maximize",
    "macs": "minimize",
    "params": "minimize",
    "size_bytes": "minimize",
    "latency_ms": "minimize",
}
