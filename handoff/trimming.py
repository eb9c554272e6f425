"""Text cut to fit a width, for what people see (titles, names, quotes)."""

from __future__ import annotations


def trimmed(text: str, limit: int) -> str:
    """`text` on one line (runs of spaces and line breaks made one space), cut to `limit`
    characters with an ellipsis when it is longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
