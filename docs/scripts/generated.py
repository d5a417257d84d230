"""Generated blocks of a Markdown file, and the CSVs they are rendered from.

A generated block is everything between ``<!-- BEGIN generated: NAME -->`` and the next
``<!-- END generated -->``; :func:`replace` rewrites the blocks' bodies and leaves the prose
around them alone. CSVs ending in ``.gz`` are gzipped without a timestamp, so regenerating
identical numbers leaves identical bytes (and no diff in git); floats are written so that
:func:`read_csv` reads back the very same doubles.

Example:
    >>> text = "intro\\n<!-- BEGIN generated: t -->\\nold\\n<!-- END generated -->\\nafter\\n"
    >>> print(replace(text, {"t": "| a |"}), end="")
    intro
    <!-- BEGIN generated: t -->
    <BLANKLINE>
    | a |
    <BLANKLINE>
    <!-- END generated -->
    after
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

BLOCK = re.compile(r"<!-- BEGIN generated: (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- END generated -->", re.S)


def body(content: str) -> str:
    """How a block's rendered ``content`` sits between its markers (a blank line each side)."""
    return "\n" + content.strip("\n") + "\n\n"


def blocks(text: str) -> dict[str, str]:
    """The generated blocks of ``text``: name → content (as rendered, without the blank lines).

    Raises ``ValueError`` when a name appears twice or a block is not closed.
    """
    found: dict[str, str] = {}
    for m in BLOCK.finditer(text):
        if m.group("name") in found:
            raise ValueError(f"generated block {m.group('name')!r} appears twice")
        found[m.group("name")] = m.group("body").strip("\n")
    opened = len(re.findall(r"<!-- BEGIN generated: ", text))
    if opened != len(found):
        raise ValueError(f"{opened - len(found)} generated block(s) are not closed by <!-- END generated -->")
    return found


def replace(text: str, new: dict[str, str]) -> str:
    """``text`` with the bodies of the blocks named in ``new`` replaced; every name must have a block."""
    missing = sorted(set(new) - set(blocks(text)))
    if missing:
        raise ValueError(f"no generated block named {', '.join(missing)} in the Markdown; add its markers first")

    def sub(m: re.Match) -> str:
        name = m.group("name")
        inner = body(new[name]) if name in new else m.group("body")
        return f"<!-- BEGIN generated: {name} -->\n{inner}<!-- END generated -->"

    return BLOCK.sub(sub, text)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` without its index; gzip (timestamp 0) when ``path`` ends in ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    compression = {"method": "gzip", "mtime": 0} if path.suffix == ".gz" else None
    frame.to_csv(path, index=False, compression=compression, lineterminator="\n")
    return path


def read_csv(path: Path, dtype: dict | None = None) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv`, floats to the last bit (``dtype``: column types to
    force, e.g. ``{"widths": str}`` for text that may look like numbers; empty cells are NaN)."""
    return pd.read_csv(path, float_precision="round_trip", keep_default_na=False, na_values=[""], dtype=dtype or None)
