"""bench.results: sections replace only their own block; figures go to img/ only when written."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import pytest
import torch

from bench import results


def test_a_section_replaces_its_own_block_only(results_page: Path) -> None:
    results.write_section("a", "first A")
    results.write_section("b", "first B")
    results.write_section("a", "second A")
    text = results_page.read_text()
    assert "second A" in text and "first A" not in text and "first B" in text
    assert text.index("second A") < text.index("first B")  # kept in place


def test_a_figure_is_a_png_beside_the_page_only_when_written(results_page: Path) -> None:
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    line = results.figure(fig, "demo", "a demo", write=False)
    assert line == "![a demo](img/demo.png)"
    assert not (results_page.parent / "img").exists()
    assert results.figure(fig, "demo", "a demo") == line
    assert (results_page.parent / "img" / "demo.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("threads, words", [(1, "1 thread,"), (2, "2 threads,")])
def test_the_machine_line_counts_threads_in_words(threads: int, words: str) -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        assert f", {words} torch " in results.machine()
    finally:
        torch.set_num_threads(before)
