"""The app under AppTest: every page on populated, empty, unfinished and missing storages."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import optuna
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.app import parse_args
from tests.dashboard.conftest import make_study

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = ["Pareto front", "Progress", "Design space", "Trial detail"]
CHARTS = {"Pareto front": 1, "Progress": 2, "Design space": 3, "Trial detail": 1}


def run_app(url: str, page: str = "Pareto front", studies: list[str] | None = None) -> AppTest:
    """Run the app once on a storage, page and study choice."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["storage_url"] = url
    at.session_state["page"] = page
    if studies is not None:
        at.session_state["wanted_studies"] = studies
    return at.run()


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


@pytest.mark.parametrize("page", PAGES)
def test_populated_study(populated_db: str, page: str) -> None:
    at = run_app(populated_db, page)
    assert not at.exception
    assert not at.error and not at.warning, texts(at, "error") + texts(at, "warning")
    assert charts(at) == CHARTS[page]
    assert at.multiselect(key="studies").value == ["fire-a"]


def test_pareto_page_overlays_studies_and_changes_axes(populated_db: str) -> None:
    at = run_app(populated_db, studies=["fire-a", "fire-b"])
    assert not at.exception and at.selectbox(key="pareto_color").value == "study"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["trials"] == "98"
    at.selectbox(key="pareto_x").set_value("size_mb").run()
    at.selectbox(key="pareto_color").set_value("params_pct3x3").run()
    at.checkbox(key="pareto_stop").check().run()
    assert not at.exception and charts(at) == 1
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "Model size (MB, fp32)"


def test_design_page_controls(populated_db: str) -> None:
    at = run_app(populated_db, "Design space")
    at.selectbox(key="design_col").set_value("params_pct3x3").run()
    at.selectbox(key="edf_by").set_value("bypass").run()
    lo, hi = at.slider(key="edf_range").value
    at.slider(key="edf_range").set_value((lo, (lo + hi) / 2)).run()
    assert not at.exception and charts(at) == 3
    assert any("η²" in c for c in texts(at, "caption"))


def test_trial_detail_shows_table_curve_and_download(populated_db: str) -> None:
    at = run_app(populated_db, "Trial detail")
    at.selectbox(key="detail_trial").set_value(0).run()  # the squeezenet1_0 baseline
    assert not at.exception
    assert any("matches the stored value" in c and c.count("matches") == 2
               for c in texts(at, "caption"))
    table = at.dataframe[1].value
    assert table["part"].iloc[0] == "stem" and table["part"].iloc[-1] == "head"
    assert at.download_button[0].label == "Download config (ArchSpec JSON)"


@pytest.mark.parametrize("page", PAGES)
def test_empty_study(populated_db: str, page: str) -> None:
    at = run_app(populated_db, page, studies=["empty"])
    assert not at.exception and not at.error
    assert any("has no trials yet" in i for i in texts(at, "info"))


@pytest.mark.parametrize("page", PAGES)
def test_failed_running_and_nan_trials(unfinished_db: str, page: str) -> None:
    at = run_app(unfinished_db, page)
    assert not at.exception and not at.error
    if page == "Pareto front":
        metrics = {m.label: m.value for m in at.metric}
        assert (metrics["failed"], metrics["running"], metrics["stopped early"]) == ("2", "1", "1")
    if page == "Trial detail":
        assert charts(at) == 1  # the NaN-accuracy trial's curve and table still draw
    else:
        assert texts(at, "info")


@pytest.mark.parametrize("page", PAGES)
def test_missing_database(tmp_path: Path, page: str) -> None:
    path = tmp_path / "nothing-here.db"
    at = run_app(f"sqlite:///{path}", page)
    assert not at.exception
    assert texts(at, "error") == [f"no study database at {path}"]
    assert not path.exists()  # the dashboard never creates a database


def test_corrupted_database(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"garbage" * 1000)
    at = run_app(f"sqlite:///{path}")
    assert not at.exception and len(at.error) == 1 and "\n" not in at.error[0].value


def test_storage_without_studies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    optuna.delete_study(study_name=make_study(url, "x", 0, 0).study_name, storage=url)
    at = run_app(url)
    assert not at.exception and "No studies in" in texts(at, "info")[0]


def test_unknown_study_is_one_line(populated_db: str) -> None:
    at = run_app(populated_db, studies=["nope"])
    assert not at.exception
    assert texts(at, "warning") == ["Unknown study 'nope'; studies in this storage: empty, "
                                    "fire-a, fire-b"]


def test_password_is_never_shown() -> None:
    at = run_app("postgresql://user:s3cret@127.0.0.1:1/nodb")
    assert not at.exception
    assert at.text_input(key="storage_box").value == "postgresql://user:***@127.0.0.1:1/nodb"
    shown = " ".join(texts(at, "error") + texts(at, "caption") + texts(at, "markdown"))
    assert "s3cret" not in shown and "***" in texts(at, "error")[0]


def test_typed_storage_and_journal_files(tmp_path: Path, populated_db: str) -> None:
    url = f"journal://{tmp_path / 'study.log'}"
    make_study(url, "journal-study", 10, seed=7)
    at = run_app(populated_db)
    at.text_input(key="storage_box").set_value(url).run()
    assert not at.exception and not at.error
    assert at.multiselect(key="studies").value == ["journal-study"]


def test_refresh_shows_new_trials_of_a_running_search(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = make_study(url, "live", 10, seed=8)
    at = run_app(url)
    assert {m.label: m.value for m in at.metric}["trials"] == "14"
    more = make_study(url, "more", 6, seed=9)
    for trial in more.get_trials()[4:]:
        study.add_trial(trial)
    at.button[0].click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["trials"] == "20"


def test_renders_while_a_search_writes(tmp_path: Path) -> None:
    """A writer adding trials while the app renders: neither side fails or waits it out."""
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    study = make_study(url, "busy", 8, seed=10)
    incoming = make_study(url, "incoming", 24, seed=11).get_trials()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for trial in incoming:
                study.add_trial(trial)
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    writer = threading.Thread(target=write)
    writer.start()
    at = run_app(url, studies=["busy"])
    while writer.is_alive():
        at.run()
        assert not at.exception and not at.error
    writer.join()
    assert not errors
    at.button[0].click().run()
    assert {m.label: m.value for m in at.metric}["trials"] == str(12 + 28)


def test_parse_args_after_the_double_dash() -> None:
    args = parse_args(["--storage", "sqlite:///x.db", "--study", "a", "--study", "b", "-q"])
    assert (args.storage, args.study) == ("sqlite:///x.db", ["a", "b"])
    assert parse_args(["--storage"]).storage is None


@pytest.mark.parametrize("page", PAGES)
def test_plain_optuna_study(tmp_path: Path, page: str) -> None:
    """A study some other tool wrote: no architecture records, one objective."""
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    study = optuna.create_study(storage=url, study_name="plain")
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=5)
    at = run_app(url, page)
    assert not at.exception and not at.error and texts(at, "info")


@pytest.mark.parametrize("page", PAGES)
def test_malformed_records_do_not_break_a_page(tmp_path: Path, page: str) -> None:
    """Attributes of the wrong type or shape (another tool, an older version) are skipped."""
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    study = make_study(url, "odd", 6, seed=12)
    study.add_trial(optuna.trial.create_trial(values=[0.5, 1e6], user_attrs={
        "spec": "{not json", "macs": "many", "rungs": {"a": 1}, "val_acc": "x", "status": 3,
        "role": ["search"], "params": None}))
    study.add_trial(optuna.trial.create_trial(values=[0.7, 2e6], user_attrs={
        "spec": json.dumps({"stem": {"w_out": 8}}), "rungs": [[1, "a"], "b"]}))
    at = run_app(url, page)
    assert not at.exception and not at.error, texts(at, "error")
    if page == "Trial detail":
        at.selectbox(key="detail_trial").set_value(10).run()
        assert not at.exception and "stored spec is invalid" in texts(at, "warning")[0]
