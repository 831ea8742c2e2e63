"""StudyView: the search's one handle on its Optuna study.

Each decision of the search (is the target reached? may this trial take a place? was
this spec trained already, or is it in flight? which peers does early stopping compare
with? which baselines are done?) reads the study's trial list once, through `read()`,
and answers from that `Snapshot`. `read()` first fails the stale trials, those whose
worker died, so every rule below may take a RUNNING trial for a live one:

- A trial whose worker process is gone (same host: /proc says so at once; other hosts:
  the SQL storage's heartbeat is older than search.storage.GRACE_S) is marked FAIL with
  its reason. A searched trial that had been sampled is re-queued with the same
  parameters (Optuna's retry callback, below); a baseline is left failed, so the next
  run's baseline pass trains it again.
- A spec is trained once, in flight included (`claim`): a trial writes its spec digest,
  then reads. It is a duplicate if another trial trained the spec, holds the claim to
  train it, or is an earlier-numbered trial still deciding; if only later-numbered trials
  are deciding, it waits the moment they take to decide (they see it and give way, or
  they claimed first); otherwise it claims the spec. Exactly one of any number of
  workers handed the same spec at once trains it.
- A searched trial takes a place toward --trials if the counted trials and the searched
  trials in flight numbered below it leave one (`places_before`). A trial is created
  before it is stamped, so a trial just asked is "undeclared" for the moment its worker
  takes to stamp it: its run (a searched trial, a place) or its worker (anything else).
  The rule waits for the undeclared trials below it to declare; deciding without them let
  two workers that asked at once both take the last place.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import get_heartbeat_thread, is_heartbeat_enabled
from optuna.trial import FrozenTrial, TrialState

from search import records as R
from search.liveness import is_dead, worker_id
from search.storage import GRACE_S
from search.weights import ARTIFACT_PREFIX

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: How often a searched spec whose worker died is re-queued before it is given up.
MAX_RETRY = 3
#: Trial system attributes that hold a trial's results (its weights, its constraint values,
#: which the retry sets afresh), not the sampler's records; a retry leaves them behind.
RESULT_PREFIXES = (ARTIFACT_PREFIX, "constraints")
#: The longest a trial waits for later-numbered trials of its spec to decide, or for
#: earlier-numbered trials to declare what they are.
CLAIM_WAIT_S = 30
#: How often such a wait reads the study again.
POLL_S = 0.1


def _trained(t: FrozenTrial) -> bool:
    return t.state in FINISHED and t.user_attrs.get(R.STATUS) in (R.COMPLETE, R.STOPPED)


def _undeclared(t: FrozenTrial) -> bool:
    """A trial just asked, not yet stamped with its run or its worker (see StudyView.ask)."""
    return (t.state == TrialState.RUNNING and R.RUN not in t.user_attrs
            and R.WORKER not in t.user_attrs)


def _holds_place(t: FrozenTrial) -> bool:
    """A searched trial in flight: asked by a search loop, not (yet) found to be anything
    that does not count."""
    return (t.state == TrialState.RUNNING and R.RUN in t.user_attrs
            and t.user_attrs.get(R.STATUS) in (None, R.COMPLETE, R.STOPPED))


@dataclass(frozen=True)
class Snapshot:
    """The study's trials as read once; every answer of one decision comes from here."""

    trials: list[FrozenTrial]

    def counted(self) -> int:
        """Searched architectures evaluated: trained fully or stopped early."""
        return sum(t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH and _trained(t)
                   for t in self.trials)

    def in_flight(self, below: int | None = None) -> int:
        """Searched trials running now (numbered below `below`, if given)."""
        return sum(_holds_place(t) and (below is None or t.number < below)
                   for t in self.trials)

    def taken(self, below: int | None = None) -> int:
        """Places toward --trials: counted trials plus those in flight."""
        return self.counted() + self.in_flight(below)

    def undeclared(self, below: int) -> int:
        """Trials numbered below `below` whose workers have yet to stamp them."""
        return sum(_undeclared(t) and t.number < below for t in self.trials)

    def twin(self, digest: str, number: int) -> tuple[FrozenTrial | None, bool]:
        """(the trial this one duplicates, or None; whether a later-numbered trial of the
        same spec has yet to decide). See StudyView.claim."""
        same = [t for t in self.trials
                if t.number != number and t.user_attrs.get(R.DIGEST) == digest]
        flying = [t for t in same if t.state == TrialState.RUNNING]
        done = [t for t in same if _trained(t)]
        claimed = [t for t in flying if t.user_attrs.get(R.CLAIMED)]
        earlier = [t for t in flying if t.number < number and t.user_attrs.get(R.STATUS) is None]
        undecided = any(t.number > number and not t.user_attrs.get(R.CLAIMED)
                        and t.user_attrs.get(R.STATUS) is None for t in flying)
        return (done or claimed or earlier or [None])[0], undecided

    def rung_peers(self, number: int) -> dict[int, list[tuple[float, float]]]:
        """(accuracy, MACs) of every other trained trial at each rung it reached."""
        peers: dict[int, list[tuple[float, float]]] = {}
        for t in self.trials:
            if t.number == number or not _trained(t):
                continue
            for images, acc in t.user_attrs.get(R.RUNGS, []):
                peers.setdefault(int(images), []).append((acc, t.user_attrs[R.MACS]))
        return peers

    def trained_baselines(self) -> set[str]:
        """Preset names trained, or being trained by a live worker."""
        return {t.user_attrs[R.PRESET] for t in self.trials
                if t.user_attrs.get(R.ROLE) == R.ROLE_BASELINE and R.PRESET in t.user_attrs
                and (_trained(t) or t.state == TrialState.RUNNING)}


class RetryStaleTrial(RetryHeartbeatStaleTrialCallback):
    """Optuna's retry of a trial whose worker died: a WAITING trial with the same
    parameters, which the next `ask` of any worker takes. The parameters, the sampler's
    records and the retry history carry over; the results, the weights and the failure
    stay with the failed trial. The sampler's records matter to a grid: the retry keeps
    its point's grid id, so the grid neither counts the point twice nor skips another."""

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        history = [*self.retry_history(trial), trial.number]
        if self._max_retry is not None and len(history) > self._max_retry:
            return
        first = self.retried_trial_number(trial)
        sampler = {k: v for k, v in trial.system_attrs.items()
                   if not k.startswith(RESULT_PREFIXES)}
        study.add_trial(optuna.trial.create_trial(
            state=TrialState.WAITING, params=trial.params, distributions=trial.distributions,
            user_attrs={R.RETRY_OF: trial.number},
            system_attrs={**sampler, "failed_trial": trial.number if first is None else first,
                          "retry_history": history}))


class StudyView:
    """The search's reads of one study, and the clean-up of trials whose worker died."""

    def __init__(self, study: optuna.Study, retry: RetryStaleTrial | None = None) -> None:
        self.study = study
        self.retry = retry or RetryStaleTrial(max_retry=MAX_RETRY)

    @property
    def name(self) -> str:
        return self.study.study_name

    def read(self) -> Snapshot:
        """One read of the trial list, after failing the trials whose worker died."""
        trials = self.study.get_trials(deepcopy=False)
        stale = self._stale(trials)
        if stale:
            for t, why in stale:
                self._fail_stale(t, why)
            trials = self.study.get_trials(deepcopy=False)
        return Snapshot(trials)

    def ask(self, run: str | None = None) -> optuna.Trial:
        """A new trial, stamped with the run, for searched trials, which then hold a place
        toward --trials, and then with this worker. The first stamp declares the trial (see
        `places_before`). A searched trial may be a re-queued one (see RetryStaleTrial);
        any other (run None: a baseline) is always new, so it never takes a retry's place."""
        storage = self.study._storage
        if run is None:  # not searched: a new trial, leaving a re-queued search to a search
            trial = optuna.Trial(self.study, storage.create_new_trial(self.study._study_id))
        else:
            trial = self.study.ask()
        if is_heartbeat_enabled(storage):  # a first beat now, so a death before training shows
            storage.record_heartbeat(trial._trial_id)
        if run is not None:
            trial.set_user_attr(R.RUN, run)
        trial.set_user_attr(R.WORKER, worker_id())
        return trial

    def places_before(self, number: int) -> int:
        """Places toward --trials taken by the counted trials and by the searched trials in
        flight numbered below `number`, once every trial below it is declared (or
        CLAIM_WAIT_S passed: a worker that died mid-ask never declares)."""
        return self._read_until(lambda s: not s.undeclared(below=number)).taken(below=number)

    def claim(self, trial: optuna.Trial, digest: str) -> FrozenTrial | None:
        """The trial this one duplicates; or None, and this trial now holds the claim to
        train the spec. The trial's digest must be stored before the call."""
        def decided(snap: Snapshot) -> bool:
            twin, undecided = snap.twin(digest, trial.number)
            return twin is not None or not undecided

        twin, _ = self._read_until(decided).twin(digest, trial.number)
        if twin is None:
            trial.set_user_attr(R.CLAIMED, True)
        return twin

    def _read_until(self, settled: Callable[[Snapshot], bool]) -> Snapshot:
        """Read until `settled` holds of the snapshot, or CLAIM_WAIT_S has passed."""
        deadline = time.monotonic() + CLAIM_WAIT_S
        snap = self.read()
        while not settled(snap) and time.monotonic() < deadline:
            time.sleep(POLL_S)
            snap = self.read()
        return snap

    @contextlib.contextmanager
    def heartbeat(self, trial: optuna.Trial) -> Iterator[None]:
        """Record the trial's heartbeat while it trains (SQL storages; a no-op elsewhere)."""
        with get_heartbeat_thread(trial._trial_id, self.study._storage):
            yield

    def _stale(self, trials: list[FrozenTrial]) -> list[tuple[FrozenTrial, str]]:
        running = [t for t in trials if t.state == TrialState.RUNNING]
        if not running:
            return []
        storage = self.study._storage
        silent = set(storage._get_stale_trial_ids(self.study._study_id)
                     if is_heartbeat_enabled(storage) else [])
        old = datetime.now() - timedelta(seconds=GRACE_S)
        stale = []
        for t in running:
            worker = t.user_attrs.get(R.WORKER)
            if worker and is_dead(worker):
                stale.append((t, f"worker died ({worker})"))
            elif t._trial_id in silent:
                stale.append((t, f"no heartbeat from its worker for {GRACE_S} s ({worker})"))
            elif not worker and t.datetime_start is not None and t.datetime_start < old:
                stale.append((t, "left running by an earlier run"))
        return stale

    def _fail_stale(self, t: FrozenTrial, reason: str) -> None:
        """Mark a stale trial FAIL with its reason; the process that does so re-queues it."""
        storage = self.study._storage
        try:
            storage.set_trial_user_attr(t._trial_id, R.STATUS, R.FAILED)
            storage.set_trial_user_attr(t._trial_id, R.FAIL_REASON, reason)
            won = storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:  # it ended meanwhile, or another worker failed it
            return
        if won and t.user_attrs.get(R.ROLE) == R.ROLE_SEARCH and R.SPEC in t.user_attrs:
            self.retry(self.study, storage.get_trial(t._trial_id))
