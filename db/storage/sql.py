"""Small SQL helpers shared by the storage modules."""

from __future__ import annotations


def escape_like(text: str) -> str:
    """`text` with the LIKE/ILIKE pattern characters (%, _ and the escape \\) taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(term: str) -> str:
    """`%term%` for ILIKE: rows containing `term` literally."""
    return f"%{escape_like(term)}%"
