"""Shared fixtures of the search tests: a private dataset cache and the loaded datasets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from search.data import DEBIAN_FASHION, Dataset, load_dataset
from search.run import main
from tests.search.workers import study_file


@pytest.fixture(scope="session", autouse=True)
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point $XDG_CACHE_HOME at a fresh folder so tests never touch the user's cache."""
    home = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def fashion(cache_home: Path) -> Dataset:
    """Fashion-MNIST from Debian's package, with the default 50k/10k split (seed 0)."""
    if not DEBIAN_FASHION.is_dir():
        pytest.skip("needs the apt package dataset-fashion-mnist")
    return load_dataset("fashion-mnist")


@pytest.fixture(scope="session")
def digits(cache_home: Path) -> Dataset:
    """scikit-learn's 8x8 digits: 1200 train / 300 val / 297 test."""
    return load_dataset("digits")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A journal study of one searched trial, made by the command; and its study file."""
    folder = tmp_path_factory.mktemp("made")
    f = study_file(folder)
    log = folder / "s.log"
    assert main(["--study-file", str(f), "--storage", f"journal://{log}", "--trials", "1",
                 "--no-baselines"]) == 0
    return log, f


@pytest.fixture(scope="session")
def bn_study(tmp_path_factory: pytest.TempPathFactory, cache_home: Path) -> tuple[str, str]:
    """A tiny squeeze study on digits that fixes bn = true, with its baselines, run once by
    the CLI: (its storage URL, what the CLI printed)."""
    import contextlib
    import io

    from search.run import main
    from tests.search.test_run import STUDY

    folder = tmp_path_factory.mktemp("bn-study")
    (folder / "tiny.toml").write_text(STUDY)
    url = f"sqlite:///{folder / 's.db'}"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--study-file", str(folder / "tiny.toml"), "--storage", url,
                     "--trials", "3"])
    assert code == 0, out.getvalue()
    return url, out.getvalue()
