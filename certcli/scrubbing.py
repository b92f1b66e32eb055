"""Secrets out of everything certcli shows or records, in every encoding certcli itself sends them.

A secret given to certcli (the SMTP password, the LRS credentials, a PostgreSQL password) goes out
encoded: SMTP AUTH PLAIN sends base64 of "\\0USER\\0PASSWORD", AUTH LOGIN base64 of the user and of the
password, HTTP Basic base64 of "KEY:SECRET", a URL percent-escapes it. A server that echoes what it got
puts that encoding in its answer, and its answer ends up in an error, a result or a record. So the
process keeps every form of every secret it was given (`hide`, where the secret comes in), and
`scrub` replaces them all with `***`: the command line applies it to whatever it prints (errors,
messages, results, `--json`), the audit trail to every event it records, the senders to the answers
they keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

HIDDEN = "***"

_forms: set[str] = set()  # every form of every secret this process was given
_longest_first: list[str] = []


def written_forms(secret: str) -> set[str]:
    """`secret` as written, percent-escaped (as a URL or a form carries it), percent-decoded (as a URL's
    escapes stand for it) and base64 (unpadded: an echo with or without its padding is caught)."""
    import base64
    from urllib.parse import quote, quote_plus, unquote

    if not secret:
        return set()
    encoded = base64.b64encode(secret.encode("utf-8")).decode("ascii").rstrip("=")
    return {secret, quote(secret, safe=""), quote_plus(secret), unquote(secret), encoded}


def hide(*secrets: str) -> None:
    """Keep every form of `secrets` out of all the process shows or records from now on."""
    _keep(form for secret in secrets for form in written_forms(secret))


def hide_smtp_login(user: str, password: str) -> None:
    """The password, and how SMTP AUTH sends it: PLAIN's "\0USER\0PASSWORD" and LOGIN's user (base64
    only: the user name itself is no secret and stays readable)."""
    import base64

    hide(password, f"\0{user}\0{password}")
    _keep([base64.b64encode(user.encode("utf-8")).decode("ascii").rstrip("=")])


def _keep(forms: Iterable[str]) -> None:
    _forms.update(form for form in forms if form)
    _longest_first[:] = sorted(_forms, key=len, reverse=True)  # a form inside a longer one goes with it


def hide_http_basic(credentials: str) -> None:
    """KEY:SECRET as HTTP Basic sends it (base64 of the pair), and each part as written."""
    key, _, secret = credentials.partition(":")
    hide(credentials, key, secret)


def forget() -> None:
    """Hide nothing any more: a new command, with secrets of its own, begins."""
    _forms.clear()
    _longest_first.clear()


def scrub(text: str) -> str:
    """`text` with every form of every hidden secret as `***`."""
    for form in _longest_first:
        if form in text:
            text = text.replace(form, HIDDEN)
    return text


def scrub_data(value: Any) -> Any:
    """`value` (JSON-shaped data) with every string in it scrubbed (keys are certcli's own names)."""
    if not _longest_first:
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_data(item) for item in value]
    if type(value) is tuple:
        return tuple(scrub_data(item) for item in value)
    return value
