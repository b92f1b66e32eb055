"""Text from users, made safe to show on a terminal."""

from __future__ import annotations


def printable(text: str) -> str:
    """`text` with control and format characters shown as escapes (`\\n`, `\\x1b`, `\\u202e`): a name
    someone else chose can neither break a line nor command the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
