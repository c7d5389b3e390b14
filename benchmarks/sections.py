"""Marked sections of benchmarks/RESULTS.md: each benchmark script owns one and keeps the others."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, section: str) -> None:
    """Put a section (`<!-- section:NAME -->` … `<!-- /section:NAME -->`) into RESULTS.md, replacing an earlier one."""
    start = section.split("\n", 1)[0].strip()
    name = start.removeprefix("<!-- section:").removesuffix(" -->")
    end = f"<!-- /section:{name} -->"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + section.rstrip("\n") + "\n" + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
