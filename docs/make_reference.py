"""Write docs/reference.md: every command's `--help`, as the application prints it.

    python docs/make_reference.py

tests/test_docs.py compares the page with what this makes, so a command or option added without
regenerating fails CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from typer._click import Context
from typer._click.core import Command
from typer.core import TyperGroup
from typer.main import get_command

from certcli.cli import SECTIONS, app

PAGE = Path(__file__).resolve().parent / "reference.md"
LAYOUT = {"terminal_width": 100, "max_content_width": 100}
INTRO = """# Command reference

Every command's `--help`, generated from the application itself by `python docs/make_reference.py`
(a test fails when this page and the application disagree). The global options `--store`, `--as`
and `--now` go before or after the command; see [Commands and options](commands.md) for the
environment variables, and [JSON output and exit codes](json.md) for what `--json` prints.
"""


def commands(group: TyperGroup, parent: Context) -> Iterator[tuple[str, Command, Context]]:
    """Every command below `group` with its context, in the order of `--help`'s sections."""
    names = list(group.commands)
    if parent.parent is None:
        placed = [name for section in SECTIONS.values() for name in section if name in group.commands]
        names = placed + [name for name in names if name not in placed]
    for name in names:
        command = group.get_command(parent, name)
        assert command is not None
        context = command.make_context(name, [], parent=parent, resilient_parsing=True, **LAYOUT)
        yield f"{parent.command_path} {name}", command, context
        if isinstance(command, TyperGroup):
            yield from commands(command, context)


def reference() -> str:
    root = get_command(app)
    assert isinstance(root, TyperGroup)
    top = root.make_context("certcli", [], resilient_parsing=True, **LAYOUT)
    parts = [INTRO, "## certcli\n", f"```\n{root.get_help(top)}\n```\n"]
    for path, command, context in commands(root, top):
        level = "#" * (path.count(" ") + 1)
        parts += [f"{level} {path}\n", f"```\n{command.get_help(context)}\n```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    PAGE.write_text(reference(), encoding="utf-8")
