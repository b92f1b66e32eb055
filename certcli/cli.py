"""The command line (docs/commands.md; every command's help is docs/reference.md): parse, call one use case, emit.

This is the only module that imports typer. Domain errors are turned into
`error:`/`hint:` lines and exit codes in one place, `CertcliGroup.invoke`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn, TextIO, TypeVar

import typer
from typer._click import exceptions as click_exceptions
from typer._click.core import ParameterSource
from typer.core import TyperGroup, TyperOption

from certcli import __version__, render
from certcli.dates import parse_date, parse_time
from certcli.errors import CertcliError, DataError, UsageError
from certcli.model import Record
from certcli.scrubbing import forget as forget_secrets
from certcli.scrubbing import scrub, scrub_data
from certcli.text import printable, printable_data, printable_lines

if TYPE_CHECKING:
    from typer._click import Context as ClickContext
    from typer._click import HelpFormatter
    from typer._click.core import Command as ClickCommand

    from certcli.store import Store
    from certcli.usecases.kernel import Context, Outcome

T = TypeVar("T")


GLOBAL_OPTIONS_WITH_VALUE = ("--store", "--as", "--now")
TEXT_ENVIRONMENT = ("CERTCLI_STORE", "CERTCLI_USER", "CERTCLI_NOW")


def _not_text(args: list[str]) -> str | None:
    """What in the arguments (or the environment variables that stand for options) is not UTF-8 text:
    bytes the system could not decode reach Python as lone surrogates, which nothing could store."""
    named = [(f"argument {position}", arg) for position, arg in enumerate(args, 1)]
    named += [(name, os.environ[name]) for name in TEXT_ENVIRONMENT if name in os.environ]
    for where, value in named:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{where} is not UTF-8 text: {os.fsencode(value)!r}"
    return None


# What `--help` shows, by audience: each command's section (a command not named here goes under "More").
SECTIONS = {
    "Learning": ("catalog", "list", "sort", "show", "start", "complete", "upload-proof", "history", "explain"),
    "Review": ("review", "proof", "approve", "reject"),
    "Administration": ("init", "define", "assign", "revoke", "user", "course", "group", "org", "apply", "import"),
    "Reports and exports": ("report", "check", "remind", "calendar", "badge", "export", "export-xapi"),
    "The store": ("audit", "doctor", "migrate"),
}
GLOBAL_OPTIONS_HELP = (
    "Global options, before or after the command: --store STORE, --as USER, --now WHEN "
    "(see certcli --help)."
)


class CertcliGroup(TyperGroup):
    """Converts every expected failure, usage errors included, into one `error:` line, a `hint:`,
    and the exit code; accepts the global options after the command too; groups `--help`."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: object,
    ) -> object:
        import sys

        arguments = list(sys.argv[1:] if args is None else args)
        problem = _not_text(arguments)
        if problem is not None:
            _fail(problem, "rename the file, or give the text in UTF-8 (check the terminal's locale)", 2)
        try:
            arguments = hoisted(self, arguments)
            result = super().main(arguments, prog_name, complete_var, False, windows_expand_args, **extra)
        except click_exceptions.NoArgsIsHelpError as exc:
            exc.show()  # the help, on stderr, as a usage error
            code = exc.exit_code
        except click_exceptions.UsageError as exc:
            message, hint = _usage_problem(exc)
            _fail(message, hint, exc.exit_code)
        except click_exceptions.ClickException as exc:
            _fail(exc.format_message(), None, exc.exit_code)
        except typer.Abort:
            _fail("aborted", None, 1)
        else:
            code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: ClickContext) -> object:
        try:
            return super().invoke(ctx)
        except CertcliError as exc:
            _say_error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None

    def get_command(self, ctx: ClickContext, cmd_name: str) -> ClickCommand | None:
        """The command, its help ending with where the global options go."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            command.epilog = GLOBAL_OPTIONS_HELP
        return command

    def format_commands(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """The commands in sections by audience, each with its whole first sentence (wrapped, not cut)."""
        shown = {name: command for name in self.list_commands(ctx) if (command := self.get_command(ctx, name))}
        if ctx.parent is not None:  # a group of commands such as `user`: one section
            sections: list[tuple[str, tuple[str, ...]]] = [("Commands", tuple(shown))]
        else:
            placed = {name for names in SECTIONS.values() for name in names}
            sections = [*SECTIONS.items(), ("More", tuple(name for name in shown if name not in placed))]
        for title, names in sections:
            rows = [(name, shown[name].get_short_help_str(limit=200)) for name in names if name in shown]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _say_error(message: str, hint: str | None) -> None:
    colour = render.use_colour(_stderr())
    for line in scrub(message).split("\n"):  # one line per problem; anything else is shown, not obeyed
        typer.echo(render.paint("error:", "31", colour) + f" {printable(line)}", err=True)
    if hint:
        typer.echo(f"hint: {printable(scrub(hint))}", err=True)


def _fail(message: str, hint: str | None, code: int) -> NoReturn:
    import sys

    _say_error(message, hint)
    sys.exit(code)


def _usage_problem(exc: click_exceptions.UsageError) -> tuple[str, str]:
    """A usage error as one line naming where the bad value came from (the option or the environment
    variable that stands for it), and a hint naming the help to read."""
    ctx = exc.ctx
    command = ctx.command_path if ctx is not None else "certcli"
    hint = f"see `{command} --help`"
    if isinstance(exc, click_exceptions.BadParameter) and exc.param is not None and ctx is not None:
        param = exc.param
        source = ctx.get_parameter_source(param.name) if param.name else None
        envvar = getattr(param, "envvar", None)
        if source is ParameterSource.ENVIRONMENT and isinstance(envvar, str):
            where = f"the environment variable {envvar}"
            hint = f"fix or unset {envvar}, or give {param.opts[0]} on the command line"
        elif param.param_type_name == "argument":
            where = f"argument {param.metavar or (param.name or '').upper()}"
        else:
            where = " / ".join(param.opts)
        if isinstance(exc, click_exceptions.MissingParameter):
            return f"missing {where}", hint
        return f"invalid value for {where}: {exc.message}", hint
    message = exc.format_message()
    return message[:1].lower() + message[1:], hint


def _global_option_width(arg: str) -> int:
    """2 for a global option followed by its value, 1 for `--option=value`, 0 for anything else."""
    if arg in GLOBAL_OPTIONS_WITH_VALUE:
        return 2
    return 1 if "=" in arg and arg.split("=", 1)[0] in GLOBAL_OPTIONS_WITH_VALUE else 0


def hoisted(group: TyperGroup, args: list[str]) -> list[str]:
    """`args` with the global options given after the command moved before it, so that
    `certcli list --as ben` means `certcli --as ben list`. Only the command's own options that take a
    value are skipped with their value, so a value that looks like a global option stays a value."""
    head: list[str] = []
    index = 0
    while index < len(args) and (width := _global_option_width(args[index])):
        head, index = head + args[index : index + width], index + width
    command: ClickCommand = group
    path = []
    while index < len(args) and isinstance(command, TyperGroup) and args[index] in command.commands:
        command = command.commands[args[index]]
        path.append(args[index])
        index += 1
    if not path:
        return args
    takes_value = {
        name
        for param in command.params
        if isinstance(param, TyperOption) and not param.is_flag
        for name in param.opts
    }
    rest: list[str] = []
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        width = _global_option_width(arg)
        if width:
            head += args[index : index + width]
            index += width
            continue
        if arg in takes_value:
            rest += args[index : index + 2]
            index += 1
        else:
            rest.append(arg)
        index += 1
    return [*head, *path, *rest]


def _stderr() -> TextIO:
    import sys

    return sys.stderr


app = typer.Typer(
    cls=CertcliGroup,
    name="certcli",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _command_group(name: str, summary: str, runs_alone: bool = False) -> typer.Typer:
    """A group of commands under `certcli NAME`, shown and failing like the application itself;
    `runs_alone`: the group's own callback is a command (`certcli audit`), else it shows its help."""
    group = typer.Typer(
        cls=CertcliGroup,
        help=summary,
        rich_markup_mode=None,
        no_args_is_help=not runs_alone,
        invoke_without_command=runs_alone,
    )
    app.add_typer(group, name=name)
    return group


user_app = _command_group("user", "Add, change, list, deactivate and reactivate users.")
course_app = _command_group("course", "Add and list courses.")
group_app = _command_group("group", "Groups of users and the certifications they enrol in.")
proof_app = _command_group("proof", "Proof files: open one to review it.")
org_app = _command_group("org", "The organisation's name and web address.")


# ---------------------------------------------------------------- option parsing


def _parse_date(value: str) -> date:
    try:
        return parse_date(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


def _parse_when(value: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


N = TypeVar("N", int, float)


def _env_number(name: str, default: N, kind: Callable[[str], N]) -> N:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = kind("-1")
    if value < 0:
        raise UsageError(f"{name}={raw!r} is not a number ≥ 0")
    return value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"certcli {__version__}")
        raise typer.Exit()


# The model's allowed values as choices typer lists and checks (cheaper to build than enums);
# tests/test_cli.py checks they are the model's.
Role = Literal["admin", "manager", "learner"]
Kind = Literal["internal", "external"]
RenewFrom = Literal["completion", "enrollment", "expiry"]
CompletionDate = Literal["approval", "submitted"]
SortKey = Literal["relevance", "published", "name", "due"]
ExportFormat = Literal["toml", "json"]
ImportKind = Literal["users", "assignments", "completions"]
ReportFormat = Literal["table", "csv", "json", "html"]


def _ids_of(kind: str) -> Callable[[typer.Context, str], list[str]]:
    """Shell completion of `kind` ids from the store the global options (or their environment
    variables) name; nothing when it cannot be read or the user is not known."""

    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        from certcli.store import open_store
        from certcli.usecases.completion import completion_ids
        from certcli.usecases.kernel import Context

        options = ctx.find_root().params
        globals_ = Globals(options.get("store"), options.get("actor"), options.get("now"))
        try:
            store = open_store(_store_location(globals_), 1.0)
            context = Context(store=store, actor_id=globals_.actor, now=_now(globals_))
            return completion_ids(context, kind, incomplete)
        except CertcliError:
            return []

    return complete


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="Whose certifications (admin, or the user's manager).",
        metavar="ID",
        autocompletion=_ids_of("user"),
    ),
]
PendingOpt = Annotated[bool, typer.Option("--pending", help="Only those not completed (the Pending widget).")]
CertArg = Annotated[
    str, typer.Argument(help="Certification id.", metavar="CERT", autocompletion=_ids_of("certification"))
]
LearnerArg = Annotated[str, typer.Argument(help="The learner.", metavar="USER", autocompletion=_ids_of("user"))]
CourseArg = Annotated[str, typer.Argument(help="Course id.", metavar="COURSE", autocompletion=_ids_of("course"))]


# ---------------------------------------------------------------- global options and context


class Globals(Record):
    """The global options as given: --store, --as and --now."""

    __slots__ = ("store", "actor", "now")

    def __init__(self, store: str | None, actor: str | None, now: datetime | None) -> None:
        self.store, self.actor, self.now = store, actor, now


@app.callback()
def main_options(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            envvar="CERTCLI_STORE",
            help="The data store: PATH.toml, PATH.json, PATH.db (SQLite) or a postgresql:// URL.",
            metavar="STORE",
        ),
    ] = None,
    actor: Annotated[
        str | None, typer.Option(
            "--as",
            envvar="CERTCLI_USER",
            help="The acting user's id (a claim, on a local store). Default: the user whose id or login is "
            "your operating system login name.",
            metavar="USER",
        )
    ] = None,
    now: Annotated[
        datetime | None,
        typer.Option(
            "--now",
            envvar="CERTCLI_NOW",
            parser=_parse_when,
            help="Evaluation time, YYYY-MM-DD (00:00 UTC) or ISO 8601. Default: now.",
            metavar="WHEN",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Certify people once or on a recurring schedule.

    Example: certcli --store fixtures/acme.toml --as ana list --pending
    """
    forget_secrets()  # a command hides the secrets it is given: one process may run several commands
    ctx.obj = Globals(store, actor, now)


def _store_location(globals_: Globals) -> str:
    if globals_.store is not None:
        return globals_.store
    import platformdirs

    return str(platformdirs.user_data_path("certcli") / "store.toml")


def _open_store(ctx: typer.Context, location: str, timeout: float = 10.0) -> Store:
    """The store at `location`; its notices (a file store grown too large) go to stderr as the command ends."""
    from certcli.store import open_store

    store = open_store(location, timeout)
    ctx.call_on_close(lambda: _tell(f"warning: {notice}" for notice in store.take_notices()))
    return store


def _globals(ctx: typer.Context) -> Globals:
    return ctx.find_object(Globals) or Globals(None, None, None)


def _now(globals_: Globals) -> datetime:
    """--now, or the clock (to the second: facts are recorded to the second)."""
    return globals_.now or datetime.now(UTC).replace(microsecond=0)


def _lock_timeout() -> float:
    return _env_number("CERTCLI_LOCK_TIMEOUT", 10.0, float)


def _context(ctx: typer.Context) -> Context:
    """What a use case needs, from the global options and the environment; the store is opened here."""
    from certcli.usecases.kernel import DEFAULT_PROOF_MAX_BYTES, Context

    globals_ = _globals(ctx)
    max_bytes = _env_number("CERTCLI_PROOF_MAX_BYTES", DEFAULT_PROOF_MAX_BYTES, int)
    store = _open_store(ctx, _store_location(globals_), _lock_timeout())
    acting = globals_.actor or _login_actor(store)
    return Context(store=store, actor_id=acting, now=_now(globals_), proof_max_bytes=max_bytes)


def _login_actor(store: Store) -> str | None:
    """With neither --as nor CERTCLI_USER: the user whose id (or `login`) is the operating system login name."""
    import getpass

    from certcli.usecases.directory import login_user

    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name for this process's user
        return None
    return login_user(store, login) if store.exists() else None


# ---------------------------------------------------------------- the way out: results on stdout, messages on stderr


def _tell(messages: Iterable[str]) -> None:
    """Messages for people, on stderr, each one line: text from users in them is shown, not obeyed."""
    for message in messages:
        typer.echo(printable(scrub(message)), err=True)


def _emit(outcome: Outcome[T], as_json: bool, text: Callable[[T, bool], str]) -> None:
    """Messages to stderr; the result as JSON or as `text` to stdout. Strings from the store are made
    printable before they are drawn (JSON escapes them), so nothing shown can command the terminal; no
    secret the command was given is in them, in any form (`certcli.scrubbing`)."""
    _tell(outcome.messages)
    data = scrub_data(outcome.data)
    if as_json:
        typer.echo(render.to_json(data))
    else:
        body = text(printable_data(data), render.use_colour())
        if body:
            typer.echo(body)


def _output_allowed(context: Context, output: Path | None) -> None:
    """Refuse an -o that names one of the store's own files, before any work (a usage error, exit 2)."""
    if output is not None:
        from certcli.outputs import check_output_path

        check_output_path(output, context.store)


def _deliver(context: Context, document: str, output: Path | None, what: str | None) -> None:
    """A document (an export, a feed, a credential, CSV) to stdout, or with -o to a file replaced
    atomically, never one of the store's own; on a terminal, unprintable characters are shown as escapes."""
    if output is None:
        typer.echo(printable_lines(document) if render.is_terminal() else document, nl=False)
        return
    from certcli.outputs import write_output

    write_output(output, document.encode("utf-8"), context.store)
    if what is not None:
        _tell([f"Wrote {what} to {output}."])


def _deliver_bytes(context: Context, content: bytes, output: Path | None, replace: bool) -> None:
    """A file's bytes to stdout, or to -o FILE (refused when it exists, unless `replace`)."""
    if output is None:
        import sys

        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    from certcli.outputs import write_output

    write_output(output, content, context.store, replace=replace)


def _quiet(data: object, colour: bool) -> str:
    return ""


# ---------------------------------------------------------------- setup commands


@app.command("init")
def init(
    ctx: typer.Context,
    admin: Annotated[str, typer.Option("--admin", help="Id of the first admin.", metavar="ID")],
    admin_name: Annotated[str | None, typer.Option("--admin-name", help="The admin's name.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="The organisation's name.")] = None,
    org_url: Annotated[
        str | None, typer.Option("--org-url", help="The organisation's https address.", metavar="URL")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a new store holding one admin; refuses an existing file.

    Example: certcli --store acme.toml init --admin root --org "Acme"
    """
    from certcli.usecases.directory import init_store

    globals_ = _globals(ctx)
    store = _open_store(ctx, _store_location(globals_))
    _emit(init_store(store, admin, admin_name, org, _now(globals_), org_url=org_url), as_json, _quiet)


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="New user's id.", metavar="ID")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[Role, typer.Option("--role", help="admin, manager or learner.")] = "learner",
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    manager: Annotated[str | None, typer.Option("--manager", help="Id of the user's manager.", metavar="ID")] = None,
    login: Annotated[
        str | None,
        typer.Option("--login", help="Their operating system login name, which acts as them without --as."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a user (admin).

    Example: certcli user add ben --name "Ben Ode" --manager mia --login bode
    """
    from certcli.usecases.directory import add_user

    _emit(add_user(_context(ctx), user_id, name, role, email, manager, login), as_json, _quiet)


@user_app.command("list")
def user_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List users (admin, manager).

    Example: certcli user list --json
    """
    from certcli.usecases.directory import list_users

    _emit(list_users(_context(ctx)), as_json, lambda data, colour: render.users_table(data))


@user_app.command("set")
def user_set(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user's id.", metavar="ID", autocompletion=_ids_of("user"))],
    name: Annotated[str | None, typer.Option("--name", help="Full name.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="E-mail address ('' clears it).")] = None,
    manager: Annotated[str | None, typer.Option("--manager", help="Id of the user's manager.", metavar="ID")] = None,
    no_manager: Annotated[bool, typer.Option("--no-manager", help="The user has no manager.")] = False,
    role: Annotated[Role | None, typer.Option("--role", help="admin, manager or learner.")] = None,
    login: Annotated[
        str | None,
        typer.Option("--login", help="Their operating system login name, which acts as them without --as ('' clears).",
                     metavar="NAME"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a user's name, e-mail address, manager, role or login name (admin).

    Example: certcli user set ben --manager omar --email ben@acme.example
    """
    from certcli.usecases.directory import set_user

    _emit(set_user(_context(ctx), user_id, name, email, manager, no_manager, role, login), as_json, _quiet)


@user_app.command("deactivate")
def user_deactivate(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user who leaves.", metavar="ID", autocompletion=_ids_of("user"))],
    reason: Annotated[str, typer.Option("--reason", help="Why; kept in the audit trail.", metavar="TEXT")],
    as_json: JsonOpt = False,
) -> None:
    """Offboard a user (admin): they cannot act or be assigned and leave reports; history stays.

    Example: certcli user deactivate dev --reason "left the company on 2026-11-30"
    """
    from certcli.usecases.directory import deactivate_user

    _emit(deactivate_user(_context(ctx), user_id, reason), as_json, _quiet)


@user_app.command("reactivate")
def user_reactivate(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user who is back.", metavar="ID", autocompletion=_ids_of("user"))],
    as_json: JsonOpt = False,
) -> None:
    """Undo a deactivation (admin).

    Example: certcli user reactivate dev
    """
    from certcli.usecases.directory import reactivate_user

    _emit(reactivate_user(_context(ctx), user_id), as_json, _quiet)


@course_app.command("add")
def course_add(
    ctx: typer.Context,
    course_id: Annotated[str, typer.Argument(help="New course's id.", metavar="ID")],
    title: Annotated[str, typer.Option("--title", help="Course title.")],
    minutes: Annotated[int | None, typer.Option("--minutes", min=0, help="Length in minutes.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a course (admin).

    Example: certcli course add sec-101 --title "Security basics" --minutes 45
    """
    from certcli.usecases.directory import add_course

    _emit(add_course(_context(ctx), course_id, title, minutes), as_json, _quiet)


@course_app.command("list")
def course_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every course and the certifications that use it (admin, manager).

    Example: certcli course list --json
    """
    from certcli.usecases.catalogue import list_courses

    _emit(list_courses(_context(ctx)), as_json, lambda data, colour: render.courses_table(data))


CatalogSort = Literal["relevance", "published", "name"]


@app.command("catalog")
def catalog_command(
    ctx: typer.Context,
    everything: Annotated[bool, typer.Option("--all", help="Retired certifications too.")] = False,
    sort: Annotated[CatalogSort, typer.Option("--sort", help="relevance, published or name.")] = "relevance",
    as_json: JsonOpt = False,
) -> None:
    """The certifications relevant to you: yours and those open to enrol in (an admin or manager: all).

    Example: certcli catalog --sort published
    """
    from certcli.usecases.catalogue import catalog

    _emit(catalog(_context(ctx), everything, sort), as_json, render.catalog_table)


# ---------------------------------------------------------------- groups


GroupArg = Annotated[str, typer.Argument(help="Group id.", metavar="GROUP", autocompletion=_ids_of("group"))]


@group_app.command("add")
def group_add(
    ctx: typer.Context,
    group_id: Annotated[str, typer.Argument(help="New group's id.", metavar="ID")],
    name: Annotated[str, typer.Option("--name", help="The group's name.")],
    as_json: JsonOpt = False,
) -> None:
    """Add a group (admin).

    Example: certcli group add berlin-warehouse --name "Berlin warehouse"
    """
    from certcli.usecases.groups import add_group

    _emit(add_group(_context(ctx), group_id, name), as_json, _quiet)


@group_app.command("list")
def group_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every group, its members and rules (admin, manager).

    Example: certcli group list --json
    """
    from certcli.usecases.groups import list_groups

    _emit(list_groups(_context(ctx)), as_json, lambda data, colour: render.groups_table(data))


@group_app.command("show")
def group_show(ctx: typer.Context, group_id: GroupArg, as_json: JsonOpt = False) -> None:
    """One group: its members and the certifications it enrols them in (admin, manager).

    Example: certcli group show berlin-warehouse
    """
    from certcli.usecases.groups import show_group

    _emit(show_group(_context(ctx), group_id), as_json, render.group_text)


@group_app.command("members")
def group_members(
    ctx: typer.Context,
    group_id: GroupArg,
    add: Annotated[list[str] | None, typer.Option("--add", help="A user who joins; repeat.", metavar="USER")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="A user who leaves the group; repeat.", metavar="USER")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add and remove members (admin): joiners are enrolled by the group's rules, leavers stay enrolled.

    Example: certcli group members berlin-warehouse --add ben --add chloe --remove dev
    """
    from certcli.usecases.groups import change_members

    _emit(change_members(_context(ctx), group_id, add or [], remove or []), as_json, _quiet)


@group_app.command("auto-assign")
def group_auto_assign(
    ctx: typer.Context,
    group_id: GroupArg,
    cert_id: CertArg,
    remove: Annotated[bool, typer.Option("--remove", help="Drop the rule; nobody is unenrolled.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Enrol every member in CERT now and anyone who joins later (admin); --remove drops the rule.

    Example: certcli group auto-assign berlin-warehouse forklift-safety
    """
    from certcli.usecases.groups import auto_assign

    _emit(auto_assign(_context(ctx), group_id, cert_id, remove), as_json, _quiet)


@org_app.command("show")
def org_show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The organisation's name and web address (any user).

    Example: certcli org show --json
    """
    from certcli.usecases.directory import show_org

    _emit(show_org(_context(ctx)), as_json, render.org_text)


@org_app.command("set")
def org_set(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="The organisation's name.")] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Its https address, the base of exported identifiers ('' clears).", metavar="URL"),
    ] = None,
    before_due: Annotated[
        str | None,
        typer.Option("--remind-before-due", help="Remind this many days before a due date ('' for never).",
                     metavar="DAYS,..."),
    ] = None,
    before_expiry: Annotated[
        str | None,
        typer.Option("--remind-before-expiry", help="Remind this many days before a validity ends ('' for never).",
                     metavar="DAYS,..."),
    ] = None,
    overdue_every: Annotated[
        int | None,
        typer.Option("--remind-overdue-every", help="Remind every DAYS days while overdue (0: never).",
                     metavar="DAYS"),
    ] = None,
    mail_from: Annotated[
        str | None,
        typer.Option("--mail-from", help="The sender of reminders ('' clears).", metavar="ADDRESS"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Set the organisation's name, web address and reminder schedule (admin).

    Example: certcli org set --url https://acme.example
    Example: certcli org set --remind-before-due 14,7,1 --mail-from certcli@acme.example
    """
    from certcli.usecases.directory import ScheduleChange, set_org

    reminders = ScheduleChange(before_due, before_expiry, overdue_every, mail_from)
    _emit(set_org(_context(ctx), name, url, reminders), as_json, _quiet)


@org_app.command("keygen")
def org_keygen_command(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="The new private key file (owner-only; never replaced).", metavar="FILE"),
    ],
    key_type: Annotated[
        Literal["rsa", "ed25519"], typer.Option("--type", help="rsa (RS256, every verifier has it) or ed25519 (EdDSA).")
    ] = "rsa",
    as_json: JsonOpt = False,
) -> None:
    """Make the organisation's signing key (admin): private key to FILE, public key (JWK) into the settings.

    Example: certcli org keygen -o /etc/certcli/acme-signing.pem
    """
    from certcli.usecases.directory import org_keygen

    context = _context(ctx)
    _output_allowed(context, output)
    _emit(org_keygen(context, output, key_type), as_json, _quiet)


@app.command("define")
def define(
    ctx: typer.Context,
    cert_id: Annotated[str, typer.Argument(help="Certification id.", metavar="ID")],
    title: Annotated[str, typer.Option("--title", help="Title.")],
    kind: Annotated[Kind, typer.Option("--kind", help="internal (by courses) or external (by proof).")],
    overview: Annotated[str, typer.Option("--overview", help="What it is about.", metavar="TEXT")] = "",
    issuer: Annotated[str, typer.Option("--issuer", help="Who issues it.", metavar="TEXT")] = "",
    badge: Annotated[str, typer.Option("--badge", help="Badge name or image path.", metavar="B")] = "",
    published: Annotated[
        date | None,
        typer.Option("--published", parser=_parse_date, help="Publication date (default: today).", metavar="DATE"),
    ] = None,
    recurring: Annotated[
        int | None,
        typer.Option("--recurring", min=1, max=1200, help="Valid this many months, then renew.", metavar="MONTHS"),
    ] = None,
    renew_from: Annotated[
        RenewFrom, typer.Option("--renew-from", help="Validity counts from completion or enrollment.")
    ] = "completion",
    renewal_window: Annotated[
        int | None,
        typer.Option(
            "--renewal-window", min=0, max=36500, help="Days before expiry that renewal opens.", metavar="DAYS"
        ),
    ] = None,
    deadline_days: Annotated[
        int | None,
        typer.Option("--deadline-days", min=0, max=36500, help="Days to complete after enrolment.", metavar="N"),
    ] = None,
    course: Annotated[
        list[str] | None, typer.Option("--course", help="A course, in order; repeat.", metavar="ID")
    ] = None,
    mandatory: Annotated[
        list[str] | None, typer.Option("--mandatory", help="Mark a --course mandatory; none means all.", metavar="ID")
    ] = None,
    ordered: Annotated[bool, typer.Option("--ordered", help="Mandatory courses must be done in order.")] = False,
    self_enroll: Annotated[bool, typer.Option("--self-enroll", help="Learners may enrol themselves.")] = False,
    completion_date: Annotated[
        CompletionDate | None,
        typer.Option("--completion-date", help="External: completed on approval, or on the date submitted."),
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Redefine an existing certification.")] = False,
    apply_to_open: Annotated[
        bool, typer.Option("--apply-to-open", help="With --replace: move open cycles onto the new courses.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Define a certification (admin).

    Example: certcli define sec --title "Security" --kind internal --recurring 12
    --course sec-101 --course sec-201 --mandatory sec-101
    """
    from certcli.usecases.programme import Definition, define

    spec = Definition(
        id=cert_id,
        title=title,
        kind=kind,
        overview=overview,
        issuer=issuer,
        badge=badge,
        published=published,
        recurring=recurring,
        renew_from=renew_from,
        renewal_window=renewal_window,
        deadline_days=deadline_days,
        courses=course or [],
        mandatory=mandatory or [],
        ordered=ordered,
        self_enroll=self_enroll,
        completion_date=completion_date,
    )
    _emit(define(_context(ctx), spec, replace, apply_to_open), as_json, _quiet)


@app.command("assign")
def assign(
    ctx: typer.Context,
    cert_id: CertArg,
    users: Annotated[
        list[str] | None,
        typer.Argument(help="Learners to enrol.", metavar="[USER]...", autocompletion=_ids_of("user")),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="Every member of this group; repeat.", metavar="GROUP",
                     autocompletion=_ids_of("group")),
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option("--team", help="Every direct report of this manager; repeat.", metavar="ID",
                     autocompletion=_ids_of("user")),
    ] = None,
    due: Annotated[
        date | None, typer.Option("--due", parser=_parse_date, help="Due date of the first cycle.", metavar="DATE")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Enrol learners, groups and teams (admin); those enrolled already are left as they are,
    deactivated users are skipped and named.

    Example: certcli assign sec ben cleo --group berlin-warehouse --team mia --due 2026-12-31
    """
    from certcli.usecases.programme import assign

    _emit(assign(_context(ctx), cert_id, users or [], due, group or [], team or []), as_json, _quiet)


# ---------------------------------------------------------------- reading commands


def _list(ctx: typer.Context, sort: SortKey, pending: bool, user: str | None, as_json: bool) -> None:
    from certcli.usecases.learning import list_certifications

    outcome = list_certifications(_context(ctx), user, pending, sort)
    _emit(outcome, as_json, lambda data, colour: render.certification_table(data, colour, sort))


@app.command("list")
def list_command(
    ctx: typer.Context,
    pending: PendingOpt = False,
    sort: Annotated[SortKey, typer.Option("--sort", help="relevance, published, name or due.")] = "relevance",
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Your certifications with their status.

    Example: certcli list --pending --sort due
    """
    _list(ctx, sort, pending, user, as_json)


@app.command("sort")
def sort_command(
    ctx: typer.Context,
    key: Annotated[SortKey, typer.Argument(help="relevance, published, name or due.", metavar="KEY")],
    pending: PendingOpt = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The same list, sorted by KEY.

    Example: certcli sort published
    """
    _list(ctx, key, pending, user, as_json)


@app.command("show")
def show(ctx: typer.Context, cert_id: CertArg, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """The certification page: details, courses, progress, dates, proof.

    Example: certcli show sec --user ben
    """
    from certcli.usecases.learning import show

    _emit(show(_context(ctx), cert_id, user), as_json, render.page_text)


# ---------------------------------------------------------------- learning commands


@app.command("start")
def start(
    ctx: typer.Context,
    cert_id: CertArg,
    course: Annotated[
        str | None, typer.Option("--course", help="Take this course instead of the queue's head.", metavar="COURSE")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Take up a certification and print the player queue.

    Example: certcli start sec
    """
    from certcli.usecases.learning import start

    _emit(start(_context(ctx), cert_id, course), as_json, render.progress_text)


@app.command("complete")
def complete(
    ctx: typer.Context,
    cert_id: CertArg,
    course: CourseArg,
    user: Annotated[
        str | None, typer.Option("--user", help="Record it for this learner (admin).", metavar="ID")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a course completion.

    Example: certcli complete sec sec-101
    """
    from certcli.usecases.learning import complete

    _emit(complete(_context(ctx), cert_id, course, user), as_json, render.progress_text)


@app.command("upload-proof")
def upload_proof(
    ctx: typer.Context,
    cert_id: CertArg,
    file: Annotated[Path, typer.Argument(help="PDF, PNG or JPEG proof.", metavar="FILE")],
    completed_on: Annotated[
        date | None,
        typer.Option(
            "--completed-on",
            parser=_parse_date,
            help="When you earned it (completion_date = submitted).",
            metavar="DATE",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Upload proof of an external certification.

    Example: certcli upload-proof aws-sa ~/aws-certificate.pdf
    """
    from certcli.usecases.reviews import upload_proof

    _emit(upload_proof(_context(ctx), cert_id, file, completed_on), as_json, render.progress_text)


# ---------------------------------------------------------------- reviewing commands


@app.command("review")
def review_command(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Proofs waiting for review (admin; a manager sees their reports').

    Example: certcli review --json
    """
    from certcli.usecases.reviews import review_queue

    _emit(review_queue(_context(ctx)), as_json, lambda data, colour: render.review_table(data))


@app.command("approve")
def approve(
    ctx: typer.Context,
    cert_id: CertArg,
    user: LearnerArg,
    as_json: JsonOpt = False,
) -> None:
    """Approve a learner's pending proof (admin, or the learner's manager).

    Example: certcli approve aws-sa ben
    """
    from certcli.usecases.reviews import review

    _emit(review(_context(ctx), cert_id, user, "approved"), as_json, render.progress_text)


@app.command("reject")
def reject(
    ctx: typer.Context,
    cert_id: CertArg,
    user: LearnerArg,
    reason: Annotated[str, typer.Option("--reason", help="Shown to the learner.", metavar="TEXT")],
    as_json: JsonOpt = False,
) -> None:
    """Reject a learner's pending proof with a reason.

    Example: certcli reject aws-sa ben --reason "the scan is unreadable"
    """
    from certcli.usecases.reviews import review

    _emit(review(_context(ctx), cert_id, user, "rejected", reason), as_json, render.progress_text)


@proof_app.command("get")
def proof_get(
    ctx: typer.Context,
    cert_id: CertArg,
    user: LearnerArg,
    cycle: Annotated[
        int | None, typer.Option("--cycle", min=1, help="That cycle's proof (default: the current one).", metavar="N")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the file here, not to stdout.", metavar="FILE")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """The bytes of a learner's proof, checked against its SHA-256 (admin, their manager, the learner).

    Without -o they go to stdout, which must not be a terminal. Example: certcli proof get aws-sa ben -o ben.pdf
    """
    from certcli.usecases.reviews import get_proof

    context = _context(ctx)
    _output_allowed(context, output)
    if output is None and render.is_terminal():
        raise UsageError("a proof is a file, not text for the terminal", hint="pass -o FILE, or redirect stdout")
    fetched = get_proof(context, cert_id, user, cycle)
    _deliver_bytes(context, fetched.data.content, output, force)
    _tell(fetched.messages)
    if output is not None:
        _tell([f"Wrote {output}."])


# ---------------------------------------------------------------- recertification commands


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    cert_id: CertArg,
    user: LearnerArg,
    reason: Annotated[str, typer.Option("--reason", help="Why; kept in the history.", metavar="TEXT")],
    as_json: JsonOpt = False,
) -> None:
    """End a learner's current completion (admin); `start` then opens the next cycle.

    Example: certcli revoke first-aid ben --reason "certificate withdrawn by the issuer"
    """
    from certcli.usecases.recertification import revoke

    _emit(revoke(_context(ctx), cert_id, user, reason), as_json, render.progress_text)


@app.command("history")
def history(ctx: typer.Context, cert_id: CertArg, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Every cycle of an enrollment: dates, requirements, progress, proof, outcome.

    Example: certcli history security-awareness --user ben
    """
    from certcli.usecases.recertification import history

    _emit(history(_context(ctx), cert_id, user), as_json, render.history_text)


@app.command("explain")
def explain(ctx: typer.Context, cert_id: CertArg, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Why the status is what it is: the rules and dates that produced it.

    Example: certcli --now 2027-02-01 explain security-awareness
    """
    from certcli.usecases.recertification import explain

    _emit(explain(_context(ctx), cert_id, user), as_json, render.explanation_text)


audit_app = _command_group("audit", "The audit trail: every change, hash-chained.", runs_alone=True)


@audit_app.callback()
def audit_list(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Events by or about this user.", metavar="ID")] = None,
    cert: Annotated[str | None, typer.Option("--cert", help="Events about this certification.", metavar="CERT")] = None,
    since: Annotated[
        date | None, typer.Option("--since", parser=_parse_date, help="Events on or after this day.", metavar="DATE")
    ] = None,
    backdated: Annotated[
        bool,
        typer.Option("--backdated", help="Only events whose time (--now) is over 24 h from when they were written."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List audit events (admin); `audit verify` checks the chain.

    Example: certcli audit --cert security-awareness --since 2026-01-01
    """
    if ctx.invoked_subcommand is None:
        from certcli.usecases.audit_trail import audit_events

        _emit(audit_events(_context(ctx), user, cert, since, backdated), as_json, render.audit_table)


KeyOpt = Annotated[
    Path | None,
    typer.Option("--key", help="The signing key file (default: CERTCLI_SIGNING_KEY).", metavar="KEYFILE"),
]


TrustedKeysOpt = Annotated[
    list[Path] | None,
    typer.Option("--key", help="Verify with this public key (a JWK file, a saved `org show --json`, or a key file), "
                 "not the store's own keys; repeat it for each key.", metavar="FILE"),
]


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="A checkpoint file kept elsewhere; the trail must still hold it.",
                     metavar="FILE"),
    ] = None,
    key: TrustedKeysOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the audit chain, the store and every signed checkpoint (admin): exit 0, or 6 naming what does not match.

    Example: certcli audit verify --checkpoint /backup/checkpoint.jws --key /backup/acme-public.json
    """
    from certcli.usecases.audit_trail import audit_verify

    _emit(audit_verify(_context(ctx), checkpoints or [], key or []), as_json, _quiet)


@audit_app.command("checkpoint")
def audit_checkpoint_command(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Also write the signed checkpoint to FILE, to keep elsewhere.",
                     metavar="FILE"),
    ] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign the trail's latest event with the organisation's key and record the checkpoint (admin).

    Example: certcli audit verify && certcli audit checkpoint -o /backup/checkpoint-$(date +%F).jws
    """
    from certcli.usecases.audit_trail import audit_checkpoint

    context = _context(ctx)
    _output_allowed(context, output)
    outcome = audit_checkpoint(context, key)
    if output is not None:
        _deliver(context, outcome.data["checkpoint"] + "\n", output, f"the checkpoint of event {outcome.data['seq']}")
    _emit(outcome, as_json, _quiet)


# ---------------------------------------------------------------- certifications as code, bulk import, compliance


@app.command("apply")
def apply_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("-f", "--file", help="Definitions file (.toml or .json).", metavar="FILE")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; write nothing.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Retire certifications and courses not in FILE.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Make the store hold what FILE defines, in one atomic write (admin); prints the plan.

    Example: certcli apply -f certifications.toml --dry-run
    """
    from certcli.usecases.as_code import apply_file

    _emit(apply_file(_context(ctx), file, dry_run, prune), as_json, render.plan_text)


@app.command("export")
def export_command(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to FILE, not stdout.", metavar="FILE")
    ] = None,
    file_format: Annotated[
        ExportFormat | None, typer.Option("--format", help="toml or json (default: by -o's extension, else toml).")
    ] = None,
) -> None:
    """The definitions (users, courses, certifications, assignments) as a file `apply` accepts (admin).

    Example: certcli export -o certifications.toml
    """
    from certcli.usecases.as_code import export_definitions

    chosen = file_format if file_format else ("json" if output and output.suffix.lower() == ".json" else "toml")
    context = _context(ctx)
    _output_allowed(context, output)
    outcome = export_definitions(context, chosen)
    _deliver(context, outcome.data, output, None)
    _tell(outcome.messages)


@app.command("import")
def import_command(
    ctx: typer.Context,
    kind: Annotated[ImportKind, typer.Argument(help="users, assignments or completions.", metavar="KIND")],
    file: Annotated[Path, typer.Argument(help="CSV file with a header row.", metavar="FILE.csv")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row; write nothing.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the good rows, report the rest.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import rows from CSV in one write (admin): all or nothing unless --skip-invalid.

    Example: certcli import completions lms-export.csv --dry-run
    """
    from certcli.usecases.imports import import_csv

    with render.progress_bar(f"importing {kind}", enabled=not as_json) as progress:
        outcome = import_csv(_context(ctx), kind, file, dry_run, skip_invalid, progress)
    _emit(outcome, as_json, _quiet)


@app.command("report")
def report_command(
    ctx: typer.Context,
    cert: Annotated[str | None, typer.Option("--cert", help="Only this certification.", metavar="ID")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this learner.", metavar="ID")] = None,
    expiring_within: Annotated[
        int | None,
        typer.Option("--expiring-within", min=0, help="Only completions ending within DAYS.", metavar="DAYS"),
    ] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Counts per certification.")] = False,
    include_inactive: Annotated[
        bool, typer.Option("--include-inactive", help="Deactivated learners too, marked.")
    ] = False,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="table, csv, json or html (one page with charts, for -o FILE).")
    ] = "table",
    as_json: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the html report to FILE.", metavar="FILE")
    ] = None,
) -> None:
    """Who holds what: one row per learner and certification (admin, or a manager for their reports).

    Example: certcli report --expiring-within 30 --format csv; certcli report --format html -o report.html
    """
    from certcli.formats.csv_rows import SUMMARY_CSV_FIELDS, rows_to_csv
    from certcli.usecases.compliance import report, report_summary

    if as_json and output_format not in ("table", "json"):
        raise UsageError(f"--json and --format {output_format} ask for two formats", hint="give one of them")
    output_format = "json" if as_json else output_format
    context = _context(ctx)
    if output_format == "html":
        if summary:
            raise UsageError("the html report holds the summary already", hint="drop --summary")
        _report_page(context, output, cert, user, expiring_within, include_inactive)
        return
    if output is not None:
        raise UsageError(f"-o writes the html report, not {output_format}", hint="pass --format html, or redirect")
    if summary:
        counts = report_summary(context, cert, user, expiring_within, include_inactive)
        if output_format == "csv":
            _tell(counts.messages)
            _deliver(context, rows_to_csv(counts.data, SUMMARY_CSV_FIELDS), None, None)
        else:
            _emit(counts, output_format == "json", render.summary_table)
        return
    rows = report(context, cert, user, expiring_within, include_inactive)
    if output_format == "csv":
        _tell(rows.messages)
        _deliver(context, rows_to_csv(rows.data), None, None)
    else:
        _emit(rows, output_format == "json", render.report_table)


def _report_page(
    context: Context,
    output: Path | None,
    cert: str | None,
    user: str | None,
    expiring_within: int | None,
    include_inactive: bool,
) -> None:
    """`report --format html`: the page to -o FILE, or to stdout when that is not a terminal."""
    from certcli.usecases.compliance import report_page

    _output_allowed(context, output)
    if output is None and render.is_terminal():
        raise UsageError("an html report is a file, not text for the terminal", hint="pass -o FILE, or redirect stdout")
    page = report_page(context, cert, user, expiring_within, include_inactive)
    _tell(page.messages)
    _deliver(context, page.data["html"], output, "the html report")


@app.command("check")
def check_command(
    ctx: typer.Context,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Comma-separated: overdue, expired, revoked, pending_approval, expiring:DAYS "
            "(default overdue,expired,revoked).",
            metavar="KINDS",
        ),
    ] = None,
    cert: Annotated[str | None, typer.Option("--cert", help="Only this certification.", metavar="ID")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this learner.", metavar="ID")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compliance gate for CI and cron: lists findings and exits 1 when there are any, 0 when compliant.

    Example: certcli check --fail-on overdue,expiring:30 --cert security-awareness
    """
    from certcli.usecases.compliance import check

    outcome = check(_context(ctx), [] if fail_on is None else [fail_on], cert, user)
    _emit(outcome, as_json, lambda data, colour: render.findings_table(data["findings"], colour))
    if not outcome.data["compliant"]:
        raise typer.Exit(1)


OutputOpt = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Write to FILE (replaced atomically), not stdout.", metavar="FILE"),
]


@app.command("export-xapi")
def export_xapi_command(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Only this learner.", metavar="ID")] = None,
    cert: Annotated[str | None, typer.Option("--cert", help="Only this certification.", metavar="ID")] = None,
    since: Annotated[
        date | None,
        typer.Option("--since", parser=_parse_date, help="Statements on or after this day.", metavar="DATE"),
    ] = None,
    output: OutputOpt = None,
    lrs: Annotated[
        str | None,
        typer.Option(
            "--lrs",
            help="Send them to this LRS's xAPI endpoint (http or https; credentials USER:PASSWORD in "
            "CERTCLI_LRS_AUTH) instead of printing them.",
            metavar="URL",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --lrs: print the delivery report as JSON.")] = False,
) -> None:
    """xAPI statements as JSON lines: enrolments, completions, proofs and their reviews, revocations (whom
    `report` shows; a learner: themselves); or, with --lrs, sent to a learning record store.

    Example: certcli export-xapi --since 2026-01-01 -o statements.jsonl
    Example: CERTCLI_LRS_AUTH=key:secret certcli export-xapi --lrs https://lrs.example.com/xAPI/
    """
    if lrs is not None and output is not None:
        raise UsageError("--lrs and -o exclude each other", hint="send the statements, or write them to a file")
    if as_json and lrs is None:
        raise UsageError("--json goes with --lrs", hint="without --lrs the statements are printed as JSON lines")
    if lrs is not None:
        from certcli.usecases.lrs_delivery import delivery_failure, send_statements

        delivery = send_statements(_context(ctx), lrs, os.environ.get("CERTCLI_LRS_AUTH"), user, cert, since)
        _emit(delivery, as_json, _quiet)
        failure = delivery_failure(delivery.data)
        if failure is not None:
            raise failure
        return
    from certcli.formats.xapi import to_json_lines
    from certcli.usecases.exports import export_statements

    context = _context(ctx)
    _output_allowed(context, output)
    outcome = export_statements(context, user, cert, since)
    _tell(outcome.messages)
    _deliver(context, to_json_lines(outcome.data), output, f"{len(outcome.data)} xAPI statement(s)")


@app.command("remind")
def remind_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the messages a run would send; send and record nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """E-mail every reminder due (admin): one message per learner, one digest per manager, each sent once.

    The mail server is CERTCLI_SMTP_URL (smtp://, smtp+starttls:// or smtps://HOST[:PORT], USER@ to log
    in), its password CERTCLI_SMTP_PASSWORD. Exits 6 when a message was not sent (it is tried again on
    the next run). Example: certcli remind --dry-run
    """
    from certcli.usecases.reminders import remind, remind_failure

    url, password = os.environ.get("CERTCLI_SMTP_URL"), os.environ.get("CERTCLI_SMTP_PASSWORD")
    outcome = remind(_context(ctx), url, password, dry_run)
    _emit(outcome, as_json, render.remind_text)
    failure = remind_failure(outcome.data)
    if failure is not None:
        raise failure


@app.command("doctor")
def doctor_command(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="First work a database's standings and row columns out again (admin)."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a store's health (admin): it validates, modes, lock, temp files, proofs, audit chain, standings, columns.

    Exits 0 when healthy, 6 listing the problems. Example: certcli doctor --json
    """
    from certcli.usecases.doctor import doctor

    outcome = doctor(_context(ctx), repair)
    healthy = outcome.data["healthy"]
    _emit(outcome if healthy else outcome._replace(messages=()), as_json, render.health_text)
    if not healthy:  # the problems are the error: one line each
        hint = "see each check above; `certcli doctor --json` lists them for scripts"
        raise DataError("\n".join(outcome.messages), hint=hint)


@app.command("migrate")
def migrate_command(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to", help="The new store: PATH.toml, PATH.json, PATH.db or a postgresql:// URL.", metavar="STORE"
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Copy the whole store (history, audit trail, proofs) to a new store of any backend, and verify the copy (admin).

    Example: certcli --store acme.toml --as root migrate --to postgresql://db.example.com/certcli
    """
    from certcli.usecases.migration import migrate

    context = _context(ctx)
    target = _open_store(ctx, to, _lock_timeout())
    with render.progress_bar("migrating", enabled=not as_json) as progress:
        outcome = migrate(context, target, progress)
    _emit(outcome, as_json, _quiet)


# ---------------------------------------------------------------- badges and calendars


@app.command("badge")
def badge_command(
    ctx: typer.Context,
    cert_id: Annotated[str, typer.Argument(help="Certification id, or `verify` to check a signed badge.",
                                           metavar="CERT")],
    badge_file: Annotated[
        Path | None, typer.Argument(help="With `verify`: the signed badge file.", metavar="[FILE]")
    ] = None,
    user: UserOpt = None,
    output: OutputOpt = None,
    sign: Annotated[
        Path | None,
        typer.Option("--sign", help="Sign it with this key file (compact JWS); CERTCLI_SIGNING_KEY also signs.",
                     metavar="KEYFILE"),
    ] = None,
    key: TrustedKeysOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An Open Badges 3.0 credential for a completed certification: JSON, or signed with --sign.
    `badge verify FILE [--key FILE]...` checks a signed one: exit 0 valid, 6 with the reason.

    Example: certcli badge security-awareness --sign acme-signing.pem -o security-awareness.jws
    """
    if cert_id == "verify":
        if badge_file is None:
            raise UsageError("badge verify needs the signed badge file", hint="certcli badge verify FILE")
        from certcli.usecases.exports import verify_badge

        _emit(verify_badge(_context(ctx), badge_file, key or []), as_json, _quiet)
        return
    if key:
        raise UsageError("--key is for `badge verify`", hint="sign a badge with --sign KEYFILE")
    if badge_file is not None:
        raise UsageError(f"unexpected argument {str(badge_file)!r}", hint="certcli badge CERT, or badge verify FILE")
    context = _context(ctx)
    _output_allowed(context, output)
    if sign is not None or os.environ.get("CERTCLI_SIGNING_KEY"):
        from certcli.usecases.exports import signed_badge

        signed = signed_badge(context, cert_id, user, sign)
        _tell(signed.messages)
        _deliver(context, signed.data + "\n", output, f"the signed badge of {cert_id}")
        return
    from certcli.usecases.exports import badge

    outcome = badge(context, cert_id, user)
    _tell(outcome.messages)
    _deliver(context, render.to_json(outcome.data) + "\n", output, f"the unsigned badge of {cert_id}")


@app.command("calendar")
def calendar_command(
    ctx: typer.Context,
    user: UserOpt = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Everyone you oversee (admin: all users; manager: direct reports).")
    ] = False,
    output: OutputOpt = None,
) -> None:
    """Due and expiry dates as an iCalendar feed, each with a reminder 7 days before.

    Example: certcli calendar -o certifications.ics
    """
    from certcli.usecases.exports import calendar

    context = _context(ctx)
    _output_allowed(context, output)
    outcome = calendar(context, user, everyone)
    _tell(outcome.messages)
    _deliver(context, outcome.data["ical"], output, f"{outcome.data['events']} event(s)")


VERSION_ONLY = "--version"


def requested_command(args: list[str]) -> str | None:
    """The command word after the global options; `VERSION_ONLY` for --version; None for
    anything else (help, completion, nothing)."""
    index = 0
    while index < len(args) and (width := _global_option_width(args[index])):
        index += width
    if index >= len(args):
        return None
    arg = args[index]
    if arg == VERSION_ONLY:
        return VERSION_ONLY
    return None if arg.startswith("-") else arg


def app_for(name: str | None) -> typer.Typer:
    """The application with only the command `name`.

    Typer builds every command's parser before running one; building just the
    one asked for keeps start-up near typer's own import time; --version needs
    none. Anything else (help, completion, an unknown word) gets the whole application.
    """
    commands = [info for info in app.registered_commands if info.name == name]
    groups = [info for info in app.registered_groups if info.name == name]
    if name is None or not (commands or groups or name == VERSION_ONLY):
        return app
    single = copy.copy(app)
    single.registered_commands, single.registered_groups = commands, groups
    single._add_completion = False  # completion and its options go through the whole application
    in_groups = [info for group in groups if group.typer_instance for info in group.typer_instance.registered_commands]
    _evaluate_annotations(info.callback for info in (*commands, *in_groups, app.registered_callback) if info)
    return single


def _evaluate_annotations(callbacks: Iterable[object]) -> None:
    """Typer reads every annotation of a command it builds four times (its signature and its type
    hints, once to build the command and once to wrap its function), evaluating each time the text
    `from __future__ import annotations` leaves: the annotations are evaluated here once instead."""
    from typing import get_type_hints

    for callback in callbacks:
        if callable(callback):
            callback.__annotations__ = get_type_hints(callback, include_extras=True)


def main() -> None:
    import gc
    import sys

    # A command is a short-lived process whose objects form no cycles worth collecting:
    # the cyclic collector would only cost start-up time (a few milliseconds) while it loads a store.
    gc.disable()
    completing = any(key.startswith("_CERTCLI_COMPLETE") for key in os.environ)
    app_for(None if completing else requested_command(sys.argv[1:]))()
