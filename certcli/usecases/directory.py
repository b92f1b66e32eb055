"""The organisation and who is in it: `init`, `user add`, `user list`, `course add`, `org show`, `org set`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from certcli import access, rules
from certcli.access import ADMIN, STAFF
from certcli.errors import StateError, UsageError
from certcli.model import AuditEntry, Course, Document, ReminderSchedule, User
from certcli.store import Need, Store
from certcli.store.document import MAX_DAYS, ORG_URL_PATTERN, schedule_data
from certcli.usecases.kernel import Context, Outcome, actor, check_id, ids, note_change, user
from certcli.usecases.views import course_data, user_data

if TYPE_CHECKING:
    from certcli.usecases.shapes import CourseData, Created, KeyMade, OrgData, ReminderSettings, UserData







def checked_org_url(url: str, option: str = "--url") -> str:
    """`url` as stored: an https address without a trailing slash; "" clears it."""
    stripped = url.strip().rstrip("/")
    if stripped and not ORG_URL_PATTERN.match(stripped):
        raise UsageError(
            f"{option} {url!r} is not an https:// address",
            hint=f"write it as https://HOST[/PATH], for example {option} https://acme.example",
        )
    return stripped


def init_store(
    store: Store, admin_id: str, admin_name: str | None, org: str | None, now: datetime, org_url: str | None = None
) -> Outcome[Created]:
    """Create a new store holding one admin (anyone may: there is nobody to ask yet)."""
    check_id(admin_id, "user")
    url = checked_org_url(org_url, "--org-url") if org_url is not None else ""
    doc = Document(org_name=org or "", users={admin_id: User(admin_id, admin_name or admin_id, ADMIN)}, org_url=url)
    details: dict[str, object] = {"org": org or "", **({"url": url} if url else {})}
    doc.pending_audit = AuditEntry(now, admin_id, "init", {"user": admin_id}, details)
    store.create(doc)
    created: Created = {"store": store.location, "admin": admin_id}
    return Outcome(created, [f"Created {store.location} with admin {admin_id}."])


def add_user(
    ctx: Context,
    user_id: str,
    name: str,
    role: str,
    email: str | None,
    manager: str | None,
    login: str | None = None,
) -> Outcome[UserData]:
    """Add a user (admin); a login name must not name another user already (by id or login)."""
    check_id(user_id, "user")
    with ctx.store.update(Need(all_users=True)) as doc:  # every login name, for `rules.identity_clash`
        actor(ctx, doc, ADMIN)
        if manager is not None:
            user(doc, manager)
        if user_id in doc.users:
            raise StateError(f"user {user_id!r} already exists", hint="choose another id")
        added = User(user_id, name, role, email, manager, login=login or None)
        _identity_free(doc, added)
        doc.users[user_id] = added
        note_change(ctx, doc, "user add", {"role": role, "manager": manager}, user=user_id)
    return Outcome(user_data(added), [f"Added {role} {user_id}."])


def list_users(ctx: Context) -> Outcome[list[UserData]]:
    doc = ctx.store.read(Need(all_users=True))
    actor(ctx, doc, *STAFF)
    return Outcome([user_data(found) for found in doc.users.values()])


def set_user(
    ctx: Context,
    user_id: str,
    name: str | None = None,
    email: str | None = None,
    manager: str | None = None,
    no_manager: bool = False,
    role: str | None = None,
    login: str | None = None,
) -> Outcome[UserData]:
    """Change a user's name, e-mail address ('' clears it), manager, role or operating system login
    name ('' clears it) (admin). A manager that would make someone their own manager, even through
    others, is refused; so is leaving no admin, and a login name another user has."""
    if manager is not None and no_manager:
        raise UsageError("--manager and --no-manager exclude each other", hint="pass one of them")
    if name is not None and not name.strip():
        raise UsageError("--name is empty", hint="give the user's name")
    with ctx.store.update(Need(all_users=True)) as doc:
        actor(ctx, doc, ADMIN)
        found = user(doc, user_id)
        if manager is not None:
            _check_manager(doc, found, user(doc, manager))
        changes: dict[str, object] = {}
        if name is not None and name != found.name:
            changes["name"] = name
        if email is not None and (email or None) != found.email:
            changes["email"] = email or None
        if (manager is not None or no_manager) and manager != found.manager:
            changes["manager"] = manager
        if role is not None and role != found.role:
            if access.is_admin(found):
                _keep_an_admin(doc, found, f"{found.id} cannot stop being an admin")
            changes["role"] = role
        if login is not None and (login or None) != found.login:
            changes["login"] = login or None
        changed = found._replace(**changes)
        if "login" in changes:
            _identity_free(doc, changed)
        doc.users[found.id] = changed
        if changes:
            note_change(ctx, doc, "user set", changes, user=found.id)
    message = f"Changed {found.id}: {', '.join(changes)}." if changes else "Nothing to change."
    return Outcome(user_data(changed), [message])


def _check_manager(doc: Document, found: User, manager: User) -> None:
    """`manager` may manage `found` unless it closes a loop: nobody manages themselves, directly or not."""
    chain, boss = [found.id], manager
    while True:
        chain.append(boss.id)
        if boss.id == found.id:
            raise StateError(
                f"{manager.id} cannot manage {found.id}: {' → '.join(reversed(chain))} would be a circle",
                hint=f"change {manager.id}'s manager first, or choose another",
            )
        if boss.manager is None or boss.manager not in doc.users or len(chain) > len(doc.users) + 1:
            return
        boss = doc.users[boss.manager]


def _identity_free(doc: Document, user: User) -> None:
    clash = rules.identity_clash(user, doc.users.values())
    if clash is not None:
        raise StateError(clash, hint="one name, one person: choose another id or login name")


def login_user(store: Store, login: str) -> str | None:
    """The id of the user the operating system login name `login` acts as: the user with that id,
    else the one whose `login` it is; None when there is none (or the store cannot tell)."""
    doc = store.read(Need(users=ids(login)))
    if login in doc.users:
        return login
    if store.partial_reads:
        doc = store.read(Need(all_users=True))
    return next((u.id for u in doc.users.values() if u.login == login), None)


def _keep_an_admin(doc: Document, leaving: User, what: str) -> None:
    others = [u.id for u in doc.users.values() if access.is_admin(u) and u.active and u.id != leaving.id]
    if not others:
        raise StateError(f"{what}: they are the only active admin", hint="make someone else an admin first")


def deactivate_user(ctx: Context, user_id: str, reason: str) -> Outcome[UserData]:
    """Offboard a user (admin): they can no longer act or be assigned, and leave reports; their
    enrollments, history and audit trail stay as they are."""
    if not reason.strip():
        raise UsageError("a deactivation needs a reason", hint="pass --reason TEXT; it is kept in the audit trail")
    with ctx.store.update(Need(all_users=True)) as doc:
        acting = actor(ctx, doc, ADMIN)
        found = user(doc, user_id)
        if found.id == acting.id:
            raise StateError("an admin cannot deactivate themselves", hint="ask another admin")
        if not found.active:
            return Outcome(user_data(found), [f"{found.id} is deactivated already; nothing to do."])
        if access.is_admin(found):
            _keep_an_admin(doc, found, f"{found.id} cannot be deactivated")
        doc.users[found.id] = changed = found._replace(active=False)
        note_change(ctx, doc, "user deactivate", {"reason": reason}, user=found.id)
    return Outcome(user_data(changed), [f"Deactivated {found.id}: {reason}"])


def reactivate_user(ctx: Context, user_id: str) -> Outcome[UserData]:
    """Undo a deactivation (admin): the user acts, is assigned and reported on again."""
    with ctx.store.update(Need(users=ids(ctx.actor_id, user_id))) as doc:
        actor(ctx, doc, ADMIN)
        found = user(doc, user_id)
        if found.active:
            return Outcome(user_data(found), [f"{found.id} is active already; nothing to do."])
        doc.users[found.id] = changed = found._replace(active=True)
        note_change(ctx, doc, "user reactivate", {}, user=found.id)
    return Outcome(user_data(changed), [f"Reactivated {found.id}."])


def add_course(ctx: Context, course_id: str, title: str, minutes: int | None) -> Outcome[CourseData]:
    check_id(course_id, "course")
    with ctx.store.update(Need(users=ids(ctx.actor_id), courses=ids(course_id))) as doc:
        actor(ctx, doc, ADMIN)
        if course_id in doc.courses:
            raise StateError(f"course {course_id!r} already exists", hint="choose another id")
        added = Course(course_id, title, minutes)
        doc.courses[course_id] = added
        note_change(ctx, doc, "course add", {"title": title}, course=course_id)
    return Outcome(course_data(added), [f"Added course {course_id}."])


# ---------------------------------------------------------------- the organisation


def _org_data(doc: Document) -> OrgData:
    schedule = doc.reminders
    reminders: ReminderSettings = {
        "before_due": list(schedule.before_due),
        "before_expiry": list(schedule.before_expiry),
        "overdue_every": schedule.overdue_every,
        "mail_from": schedule.mail_from or None,
    }
    return {
        "name": doc.org_name or None, "url": doc.org_url or None, "reminders": reminders, "key": doc.org_key,
        "retired_keys": list(doc.org_retired_keys),
    }  # fmt: skip


class ScheduleChange(NamedTuple):
    """The reminder settings `org set` was given (None: left as they are), as written on the command line."""

    before_due: str | None = None
    before_expiry: str | None = None
    overdue_every: int | None = None
    mail_from: str | None = None

    @property
    def given(self) -> bool:
        return any(value is not None for value in self)


def days_list(text: str, option: str) -> tuple[int, ...]:
    """`14,7,1` as days, most first, each once; '' for none. UsageError naming `option` otherwise."""
    days: set[int] = set()
    for part in text.split(","):
        if not part.strip() and not text.strip():
            continue
        try:
            value = int(part.strip())
        except ValueError:
            value = -1
        if not 0 <= value <= MAX_DAYS:
            raise UsageError(
                f"{option} {text!r} is not a list of days", hint=f"give whole numbers from 0 to {MAX_DAYS}: 14,7,1"
            )
        days.add(value)
    return tuple(sorted(days, reverse=True))


def checked_address(address: str, option: str = "--mail-from") -> str:
    """An e-mail address (with a display name or not) as the standard library's parser reads it; '' clears."""
    from email.utils import parseaddr

    stripped = address.strip()
    if stripped and "@" not in parseaddr(stripped)[1]:
        hint = f"for example {option} certcli@acme.example"
        raise UsageError(f"{option} {address!r} is not an e-mail address", hint=hint)
    return stripped


def _schedule(current: ReminderSchedule, change: ScheduleChange) -> ReminderSchedule:
    if change.overdue_every is not None and not 0 <= change.overdue_every <= MAX_DAYS:
        raise UsageError(f"--remind-overdue-every {change.overdue_every} is not from 0 to {MAX_DAYS} days")
    changes: dict[str, object] = {}
    if change.before_due is not None:
        changes["before_due"] = days_list(change.before_due, "--remind-before-due")
    if change.before_expiry is not None:
        changes["before_expiry"] = days_list(change.before_expiry, "--remind-before-expiry")
    if change.overdue_every is not None:
        changes["overdue_every"] = change.overdue_every
    if change.mail_from is not None:
        changes["mail_from"] = checked_address(change.mail_from)
    return current._replace(**changes)


def org_keygen(ctx: Context, key_file: Path, kind: str = "rsa") -> Outcome[KeyMade]:
    """Make the organisation's signing key pair (admin): the private key into `key_file`, owner-only
    and never into the store; the public key into the organisation's settings as its current key. An
    earlier key is kept as retired, so that what it signed still verifies."""
    from certcli import keys

    if kind not in keys.KEY_TYPES:
        raise UsageError(f"unknown key type {kind!r}", hint=f"use one of: {', '.join(keys.KEY_TYPES)}")
    pem, public = keys.generate(kind)
    try:
        with ctx.store.update(Need(users=ids(ctx.actor_id))) as doc:
            actor(ctx, doc, ADMIN)
            replaced = doc.org_key["kid"] if doc.org_key else None
            keys.write_private(key_file, pem)
            if doc.org_key is not None:
                doc.org_retired_keys = [*doc.org_retired_keys, doc.org_key]
            doc.org_key = public
            note_change(ctx, doc, "org keygen", {"kid": public["kid"], "alg": public["alg"], "replaced": replaced})
    except BaseException:
        if _written_by_us(key_file, pem):
            key_file.unlink()
        raise
    data: KeyMade = {"kid": public["kid"], "alg": public["alg"], "key_file": str(key_file), "public": public}
    told = [f"Wrote the private key to {key_file} (owner-only; keep it out of the store and backed up apart)."]
    if replaced:
        told.append(
            f"It replaces key {replaced} for signing; that key is kept as retired and still verifies the badges and "
            "checkpoints it signed. Save `certcli org show --json` again wherever you keep the public keys."
        )
    return Outcome(data, told)


def _written_by_us(key_file: Path, pem: bytes) -> bool:
    """Whether `key_file` holds the key this command wrote (so a failed command may remove it)."""
    try:
        return key_file.read_bytes() == pem
    except OSError:
        return False


def show_org(ctx: Context) -> Outcome[OrgData]:
    """The organisation's name, web address and reminder schedule (any user)."""
    doc = ctx.store.read(Need(users=ids(ctx.actor_id)))
    actor(ctx, doc)
    return Outcome(_org_data(doc))


def set_org(
    ctx: Context, name: str | None = None, url: str | None = None, reminders: ScheduleChange | None = None
) -> Outcome[OrgData]:
    """Change the name, the address and/or the reminder schedule (admin); setting what is already there
    records nothing."""
    reminders = reminders or ScheduleChange()
    if name is None and url is None and not reminders.given:
        raise UsageError("nothing to set", hint="pass --name NAME, --url URL or a --remind-... or --mail-from option")
    new_url = checked_org_url(url) if url is not None else None
    new_name = name.strip() if name is not None else None
    _schedule(ReminderSchedule(), reminders)  # the values checked before the store is opened
    with ctx.store.update(Need(users=ids(ctx.actor_id))) as doc:
        actor(ctx, doc, ADMIN)
        changes: dict[str, object] = {}
        if new_name is not None and new_name != doc.org_name:
            changes["name"] = doc.org_name = new_name
        if new_url is not None and new_url != doc.org_url:
            changes["url"] = doc.org_url = new_url
        schedule = _schedule(doc.reminders, reminders)
        if schedule != doc.reminders:
            changes["reminders"] = schedule_data(schedule)
            doc.reminders = schedule
        if changes:
            note_change(ctx, doc, "org-set", changes)
        data = _org_data(doc)
    message = f"Set the organisation's {' and '.join(changes)}." if changes else "Nothing to change."
    return Outcome(data, [message])
