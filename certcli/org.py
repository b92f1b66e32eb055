"""The organisation's settings: its name and its web address (`org show`, `org set`).

The address (https) is the base of the identifiers exported records use, so it
is checked and written without a trailing slash.
"""

from __future__ import annotations

from typing import Any

from certcli.errors import UsageError
from certcli.model import Document
from certcli.service import Context, Outcome, _actor, _audit, _ids
from certcli.store import Need
from certcli.store.document import ORG_URL_PATTERN


def checked_org_url(url: str, option: str = "--url") -> str:
    """`url` as stored: an https address without a trailing slash; "" clears it."""
    stripped = url.strip().rstrip("/")
    if stripped and not ORG_URL_PATTERN.match(stripped):
        raise UsageError(
            f"{option} {url!r} is not an https:// address",
            hint=f"write it as https://HOST[/PATH], for example {option} https://acme.example",
        )
    return stripped


def base_url(org_url: str) -> str:
    """The organisation's address without a trailing slash (a hand-edited store may hold one)."""
    return org_url.rstrip("/")


def certification_url(org_url: str, cert_id: str) -> str:
    """A certification's identifier: its badges' achievement and its xAPI activity."""
    return f"{base_url(org_url)}/certcli/certifications/{cert_id}"


def _org_data(doc: Document) -> dict[str, Any]:
    return {"name": doc.org_name or None, "url": doc.org_url or None}


def show_org(ctx: Context) -> Outcome:
    doc = ctx.store.read(Need(users=_ids(ctx.actor_id)))
    _actor(ctx, doc)
    return Outcome(_org_data(doc))


def set_org(ctx: Context, name: str | None = None, url: str | None = None) -> Outcome:
    """Change the name and/or the address (admin); setting what is already there records nothing."""
    if name is None and url is None:
        raise UsageError("nothing to set", hint="pass --name NAME and/or --url URL")
    new_url = checked_org_url(url) if url is not None else None
    new_name = name.strip() if name is not None else None
    with ctx.store.update(Need(users=_ids(ctx.actor_id))) as doc:
        _actor(ctx, doc, "admin")
        changes: dict[str, Any] = {}
        if new_name is not None and new_name != doc.org_name:
            changes["name"] = new_name
            doc.org_name = new_name
        if new_url is not None and new_url != doc.org_url:
            changes["url"] = new_url
            doc.org_url = new_url
        if changes:
            _audit(ctx, doc, "org-set", changes)
        data = _org_data(doc)
    message = f"Set the organisation's {' and '.join(changes)}." if changes else "Nothing to change."
    return Outcome(data, [message])


def org_text(data: dict[str, Any]) -> str:
    """`org show` for people: one line per setting, `-` where unset."""
    return f"Name: {data['name'] or '-'}\nURL:  {data['url'] or '-'}"
