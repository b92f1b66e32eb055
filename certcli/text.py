"""Text from users, made safe to show on a terminal or to hand to a spreadsheet."""

from __future__ import annotations

from typing import Any


def printable(text: str) -> str:
    """`text` with control and format characters shown as escapes (`\\n`, `\\x1b`, `\\u202e`): a name
    someone else chose can neither break a line nor command the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def printable_lines(text: str) -> str:
    """`text` made printable line by line: its line breaks and tabs are kept, nothing else unprintable."""
    return "\n".join("\t".join(printable(part) for part in line.split("\t")) for line in text.split("\n"))


def printable_data(value: Any) -> Any:
    """`value` (JSON-shaped data) with every string in it made printable, for text meant for people."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {key: printable_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [printable_data(item) for item in value]
    return value


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_safe(text: str) -> str:
    """JSON text with every unprintable character inside its strings written as a `\\u` escape: the
    same data, which no terminal takes as a command. Line breaks outside strings are kept."""
    if text.replace("\n", "").isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == "\n" else _json_escape(ch) for ch in text)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula: one starting with = + - @,
    a tab or a carriage return gets a leading apostrophe (the OWASP advice)."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
