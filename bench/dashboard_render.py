"""Dashboard render time on a 2,000-trial study: first render under 3 s, repeats cached.

    python -m bench.dashboard_render [--trials 2000] [--rebuild]

Times (1) the app under Streamlit's AppTest: the first run of each page on a fresh
cache and a second run, in a process that has imported the dashboard (a running
server), and once in a fresh process; (2) the data layer without any cache: loading
the trial frame from SQLite and building every page's figures. The study is written
once under bench/out/ and reused. Writes the "dashboard_render" section of
docs/RESULTS.md; exits 1 if the first Pareto render takes 3 s or more.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ("Pareto front", "Progress", "Design space", "Trial detail")
BUDGET_S = 3.0
STUDY = "bench"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call takes, and its result."""
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def study_db(n_trials: int, rebuild: bool) -> Path:
    """The benchmark study's SQLite file (written on tmpfs when possible, then kept)."""
    from tests.dashboard.conftest import make_study

    path = OUT / f"dashboard_{n_trials}.db"
    if path.exists() and not rebuild:
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    tmp = scratch / path.name
    seconds, _ = timed(lambda: make_study(f"sqlite:///{tmp}", STUDY, n_trials, seed=0))
    shutil.move(tmp, path)
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"wrote {path} ({n_trials} trials) in {seconds:.0f} s")
    return path


def pareto_render(url: str) -> Any:
    """What the Pareto page computes: load the frame, mark the front, draw, serialize."""
    from dashboard import analysis as A
    from dashboard import data
    from dashboard import figures as F

    df = data.load_trials(data.connect(url), STUDY)
    fig = F.pareto_figure(A.with_front(df), "mflops", "params_SR")
    return df, fig.to_json()


def other_figures(df: Any) -> None:
    """The progress and design-space pages' computations and figures."""
    from dashboard import analysis as A
    from dashboard import figures as F

    F.hypervolume_figure(A.hypervolume_curve(df).assign(study=STUDY)).to_json()
    F.fronts_over_time_figure(A.fronts_over_time(df)).to_json()
    F.effects_figure(df, "params_SR").to_json()
    F.edf_figure(A.edf_frame(df)).to_json()
    F.importance_figure(A.importance(df)).to_json()


def data_layer(url: str, repeats: int = 3) -> dict[str, float]:
    """First and median repeat seconds of the data and figure functions (no cache)."""
    first, (df, _) = timed(lambda: pareto_render(url))
    again = [timed(lambda: pareto_render(url))[0] for _ in range(repeats)]
    figs = [timed(lambda: other_figures(df))[0] for _ in range(repeats)]
    return {"pareto first": first, "pareto repeat": statistics.median(again),
            "other pages": statistics.median(figs), "rows": float(len(df))}


def app_runs(url: str) -> dict[str, tuple[float, float]]:
    """(first, second) AppTest run seconds per page; the cache is cleared once at the start."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    out = {}
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["storage_url"] = url
        at.session_state["page"] = page
        first, _ = timed(at.run)
        second, _ = timed(at.run)
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].value}")
        out[page] = (first, second)
    return out


COLD = """
import sys, time
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.session_state["storage_url"] = sys.argv[2]
t1 = time.perf_counter()
at.run()
assert not at.exception, at.exception
print(time.perf_counter() - t0, time.perf_counter() - t1)
"""


def cold_process(url: str) -> tuple[float, float]:
    """(total, app run) seconds of the Pareto page in a fresh Python process."""
    out = subprocess.run([sys.executable, "-c", COLD, APP, url], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[-2]), float(out[-1])


def warm_imports() -> float:
    """Import what a running server has already imported; the seconds it took."""
    def load() -> None:
        import dashboard.analysis
        import dashboard.figures
        import dashboard.pages  # noqa: F401
    return timed(load)[0]


def report(n: int, imports: float, layer: dict[str, float],
           runs: dict[str, tuple[float, float]], cold: tuple[float, float]) -> str:
    """The markdown section."""
    from bench.results import machine

    lines = ["## Dashboard render time", "",
             f"One study of {n:,} trials + 4 baselines "
             f"({int(layer['rows']):,} rows, SQLite), {machine()}.", "",
             f"Importing the dashboard's modules (torch, plotly, optuna, pandas) once per "
             f"server process: {imports:.2f} s (not in the figures below).", "",
             "| step | first | repeat |", "|---|---|---|",
             f"| load trials + front + Pareto figure + JSON | {layer['pareto first']:.3f} s "
             f"| {layer['pareto repeat']:.3f} s (uncached) |",
             f"| progress + design-space figures | | {layer['other pages']:.3f} s |"]
    lines += [f"| AppTest run, {page} | {a:.3f} s | {b:.3f} s (cached) |"
              for page, (a, b) in runs.items()]
    lines += [f"| fresh process: imports + first AppTest run, Pareto front | {cold[0]:.3f} s "
              f"(of which the run {cold[1]:.3f} s) | |"]
    first = runs["Pareto front"][0]
    verdict = "under" if first < BUDGET_S else "OVER"
    lines += ["", f"First render of the Pareto page: {first:.2f} s, {verdict} the "
              f"{BUDGET_S:.0f} s budget. Pages after the first reuse the cached trial frame "
              "(cache key: storage URL, study, trial counts; TTL 60 s)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboard_render", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--rebuild", action="store_true", help="write the study again")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    url = f"sqlite:///{study_db(args.trials, args.rebuild)}"
    cold = cold_process(url)
    imports = warm_imports()
    runs = app_runs(url)
    layer = data_layer(url)
    text = report(args.trials, imports, layer, runs, cold)
    print(text)
    from bench.results import write_section

    print(f"wrote {write_section('dashboard_render', text)}")
    return 0 if runs["Pareto front"][0] < BUDGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
