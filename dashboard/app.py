"""The dashboard's Streamlit layout: `streamlit run dashboard/app.py [-- --storage URL]`.

The sidebar picks a storage, its studies and a page; every page is a function of
dashboard.pages drawing the frames that dashboard.data loads (cached here).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by `streamlit run`: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd
import streamlit as st
from optuna.storages import BaseStorage

from dashboard import ENV_HOST, ENV_STORAGE, data, pages
from search.storage import StorageError, default_storage_url, redact

PAGES = {"Pareto front": pages.pareto_page, "Progress": pages.progress_page,
         "Design space": pages.design_page, "Trial detail": pages.detail_page}
LOG = logging.getLogger("dashboard")
TRIALS_TTL_S = 60
STUDIES_TTL_S = 5


def parse_args(argv: list[str]) -> argparse.Namespace:
    """--storage URL and --study NAME given after `--` to streamlit run (others ignored)."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--storage", default=None)
    parser.add_argument("--study", action="append", default=[])
    try:
        args, _ = parser.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        args = argparse.Namespace(storage=None, study=[])
    return args


@st.cache_resource(ttl=600, max_entries=8, show_spinner=False)
def _storage(url: str) -> BaseStorage:
    """The opened storage of a URL, shared by sessions."""
    return data.connect(url)


def storage(url: str) -> BaseStorage:
    """The cached storage of a URL, re-checked so a deleted database is reported, not recreated."""
    problem = data.missing(url)
    if problem:
        _storage.clear()
        raise StorageError(problem)
    return _storage(url)


@st.cache_data(ttl=STUDIES_TTL_S, max_entries=8, show_spinner=False)
def studies_frame(url: str) -> pd.DataFrame:
    """The studies of a storage (cached for a few seconds)."""
    return data.studies_frame(storage(url))


@st.cache_data(ttl=TRIALS_TTL_S, max_entries=32, show_spinner="Loading trials…")
def _trials(url: str, study: str, counts: tuple[int, int]) -> pd.DataFrame:
    """One study's trial frame; `counts` is only part of the cache key."""
    return data.load_trials(storage(url), study)


def trials(url: str, study: str) -> pd.DataFrame:
    """One study's trial frame, cached on (storage, study, trial counts) with a short TTL."""
    st_ = storage(url)
    return _trials(url, study, data.trial_counts(st_, data.study_info(st_, study)))


def _init_state() -> None:
    """Seed the storage URL from `--storage`, the environment or the default, once."""
    if "storage_url" in st.session_state:
        return
    args = parse_args(sys.argv[1:])
    url = args.storage or os.environ.get(ENV_STORAGE) or default_storage_url()
    st.session_state["storage_url"] = url
    st.session_state["wanted_studies"] = args.study


def _take_typed_url() -> None:
    """Use what was typed, and show it back with any password hidden."""
    typed = st.session_state["storage_box"].strip()
    if typed != redact(st.session_state["storage_url"]):
        st.session_state["storage_url"] = typed
        st.session_state.pop("studies", None)  # another storage: start from its default study
    st.session_state["storage_box"] = redact(st.session_state["storage_url"])


def sidebar() -> tuple[str, str]:
    """Storage box, refresh button and page choice; returns (storage URL, page)."""
    _init_state()
    bar = st.sidebar
    if "storage_box" not in st.session_state:
        st.session_state["storage_box"] = redact(st.session_state["storage_url"])
    bar.text_input("Storage URL", key="storage_box", on_change=_take_typed_url,
                   help="journal:///path.log, postgresql://user@host/db (the password "
                   "from $PGPASSWORD or ~/.pgpass) or sqlite:///path.db")
    page = bar.radio("Page", list(PAGES), key="page")
    bar.button("Refresh", help="Read new trials (without holding up a running search)")
    return st.session_state["storage_url"], str(page)


def choose_studies(url: str, table: pd.DataFrame) -> list[str]:
    """The study multiselect; warns about a requested study the storage lacks."""
    names = table["study"].tolist()
    wanted = st.session_state.get("wanted_studies") or []
    for name in wanted:
        if name not in names:
            st.warning(f"Unknown study {name!r}; studies in this storage: {', '.join(names)}")
    counts = dict(zip(table["study"], table["trials"], strict=True))
    largest = max(names, key=lambda n: counts[n])
    default = [n for n in wanted if n in names] or [largest]
    return st.sidebar.multiselect("Studies (several overlay to compare spaces)", names,
                                  default=default, key="studies",
                                  format_func=lambda n: f"{n} ({counts.get(n, 0)} trials)")


def load(url: str, names: list[str]) -> pd.DataFrame | None:
    """The selected studies' trials in one frame; None (after a message) when nothing to show."""
    frames = []
    for name in names:
        df = trials(url, name)
        if df.empty:
            st.info(f"Study {name!r} has no trials yet; refresh once the search has written some.")
        frames.append(df)
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else None


def exposed() -> str | None:
    """Why this server must not serve studies: it listens beyond loopback (no address
    set listens on every interface, as `streamlit run` from another folder does) and the
    user did not choose that address with `python -m dashboard --host`."""
    address = (st.get_option("server.address") or "").strip()
    if address in ("localhost", "::1") or address.startswith("127."):
        return None
    if address and os.environ.get(ENV_HOST) == address:
        return None
    where = f"on {address}" if address else "on every network interface"
    return (f"This dashboard listens {where}, so it would show your studies to other "
            "machines: restart it with `python -m dashboard` (127.0.0.1), or add "
            "`--server.address 127.0.0.1` to `streamlit run`; to share it on purpose, "
            "use `python -m dashboard --host ADDRESS`.")


def main() -> None:
    """Sidebar, study choice, then the chosen page; bad input gives one line, not a traceback."""
    st.set_page_config(page_title="NAS explorer", layout="wide")
    problem = exposed()
    if problem:
        st.error(problem)
        return
    url, page = sidebar()
    st.title("NAS design-space explorer")
    try:
        table = studies_frame(url)
        if table.empty:
            st.info(f"No studies in {redact(url)} yet. Start one with "
                    "`python -m search.run --space squeeze --trials 200`.")
            return
        names = choose_studies(url, table)
        st.sidebar.caption(f"{redact(url)} · {len(table)} studies")
        if not names:
            st.info("Choose one or more studies in the sidebar.")
            return
        df = load(url, names)
        if df is not None:
            PAGES[page](df)
    except (StorageError, data.DashboardError) as e:
        st.error(str(e))
        if str(e).startswith("no study database"):
            st.info("Start a search to create it (`python -m search.run --space squeeze "
                    "--trials 200`) or give another storage URL in the sidebar.")
    except Exception as e:  # stored data this version cannot draw: one line here, details logged
        LOG.exception("dashboard page %r failed", page)
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        st.error(f"Cannot draw this page ({type(e).__name__}: {redact(first)}); "
                 "the server log has the details.")


main()
