"""The code's layout keeps its promises: no module reaches into another's private names, and only the
command line imports typer. (The layering itself is checked by import-linter in CI: see pyproject.toml.)"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "certcli"


def _modules() -> dict[str, ast.Module]:
    trees = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        trees[name] = ast.parse(path.read_text(), str(path))
    return trees


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _imported_modules(tree: ast.Module, module: str) -> dict[str, str]:
    """The names under which `module` binds certcli modules: `import certcli.x as y` → {y: certcli.x}."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("certcli") and alias.asname:
                    bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("certcli"):
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def private_imports(modules: dict[str, ast.Module]) -> list[str]:
    """Every `from certcli.x import _name` and `x._name` that crosses from one module into another."""
    found = []
    for module, tree in modules.items():
        bound = _imported_modules(tree, module)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("certcli"):
                found += [f"{module}: from {node.module} import {a.name}" for a in node.names if _private(a.name)]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
                target = bound.get(node.value.id)
                if target is not None and target in modules and target != module:
                    found.append(f"{module}: {node.value.id}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    assert private_imports(_modules()) == []


def test_the_check_finds_a_private_import_when_there_is_one() -> None:
    planted = {
        "certcli.a": ast.parse("from certcli.b import _secret\nimport certcli.c as c\nc._hidden()\n"),
        "certcli.b": ast.parse("_secret = 1\n"),
        "certcli.c": ast.parse("def _hidden(): pass\n"),
    }
    assert private_imports(planted) == ["certcli.a: from certcli.b import _secret", "certcli.a: c._hidden"]


def test_only_the_command_line_imports_typer() -> None:
    importers = sorted(
        module
        for module, tree in _modules().items()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "typer" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "typer")
    )
    assert set(importers) == {"certcli.cli"}


# Where a date or a time may be turned into text or read from it by hand: certcli.dates, which
# zero-pads the year, and the one place that hands a value TOML parsed but UTC cannot hold back to
# the store's validation, so it is named in the error.
HAND_DATES_ALLOWED = {"certcli.dates", "certcli.formats.documents: isoformat"}
HAND_DATE_METHODS = {"isoformat", "fromisoformat", "strftime", "strptime"}
YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%C", "%c", "%x", "%F")


def hand_formatted_dates(modules: dict[str, ast.Module]) -> list[str]:
    """Every `.isoformat()`, `.fromisoformat()`, `.strftime()`, `.strptime()` call and every f-string
    format spec with a year in it outside certcli.dates: `%Y` does not pad years before 1000."""
    found = []
    for module, tree in modules.items():
        if module in HAND_DATES_ALLOWED:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in HAND_DATE_METHODS and f"{module}: {node.func.attr}" not in HAND_DATES_ALLOWED:
                    found.append(f"{module}:{node.lineno}: .{node.func.attr}()")
            elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
                spec = "".join(str(part.value) for part in ast.walk(node.format_spec) if isinstance(part, ast.Constant))
                if any(directive in spec for directive in YEAR_DIRECTIVES):
                    found.append(f"{module}:{node.lineno}: format spec {spec!r}")
    return found


def test_every_date_and_time_is_written_and_read_by_certcli_dates() -> None:
    assert hand_formatted_dates(_modules()) == []


def test_the_check_finds_a_date_formatted_by_hand() -> None:
    planted = {
        "certcli.a": ast.parse('x = now.strftime("%Y-%m-%d")\ny = f"{now:%Y}"\nz = f"{now:%H:%M}"\n'),
        "certcli.b": ast.parse("day = date.fromisoformat(text)\n"),
        "certcli.dates": ast.parse('x = now.strftime("%Y")\n'),
    }
    assert hand_formatted_dates(planted) == [
        "certcli.a:1: .strftime()", "certcli.a:2: format spec '%Y'", "certcli.b:1: .fromisoformat()"
    ]
