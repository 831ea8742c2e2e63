"""The benchmark tests share the search tests' private dataset cache, and write results pages
under tmp_path."""

from pathlib import Path

import pytest

from bench import results
from tests.search.conftest import cache_home

__all__ = ["cache_home", "results_page"]


@pytest.fixture
def results_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bench.results writes RESULTS.md and img/ under tmp_path, not into docs/."""
    monkeypatch.setattr(results, "RESULTS", tmp_path / "RESULTS.md")
    monkeypatch.setattr(results, "IMAGES", tmp_path / "img")
    return tmp_path / "RESULTS.md"
