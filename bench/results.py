"""Write one benchmark's section of docs/RESULTS.md, leaving the other sections alone."""

from __future__ import annotations

import platform
import re
from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import torch

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "RESULTS.md"
#: Where the sections' figures are written, beside RESULTS.md.
IMAGES = RESULTS.parent / "img"
HEADER = ("# Benchmark results\n\nEach section is rewritten by the benchmark named in it. "
          "`make results` rewrites, without training, the sections that read stored results "
          "(samplers, fidelity, findings) and their figures in img/; those results are the "
          "journals in studies/results/, tracked in git.\n")


def machine() -> str:
    """A one-line description of where a figure was measured."""
    threads = torch.get_num_threads()
    return (f"{platform.machine()}, {threads} thread{'s' if threads > 1 else ''}, "
            f"torch {torch.__version__}, "
            f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}, "
            f"{date.today().isoformat()}")


def write_section(name: str, body: str) -> Path:
    """Replace (or append) the section between this benchmark's markers."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text}\n{block}\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    return RESULTS


def publish(name: str, body: str, *, write: bool = True) -> None:
    """Print a benchmark's section and, unless told not to, write it to docs/RESULTS.md."""
    print(body)
    if write:
        print(f"written to {write_section(name, body)}")


def figure(fig: go.Figure, name: str, alt: str, *, write: bool = True) -> str:
    """Save a plotly figure as docs/img/NAME.png (kaleido, headless Chromium); return the
    Markdown line that embeds it in RESULTS.md."""
    if write:
        IMAGES.mkdir(parents=True, exist_ok=True)
        fig.write_image(IMAGES / f"{name}.png", width=900, height=500)
    return f"![{alt}]({IMAGES.relative_to(RESULTS.parent).as_posix()}/{name}.png)"
