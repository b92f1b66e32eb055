"""Sending e-mail (`remind`) over SMTP, with the standard library's `smtplib`.

The server comes from a URL: `smtp://HOST[:PORT]` (plain, port 25), `smtp+starttls://HOST[:PORT]`
(STARTTLS, port 587) or `smtps://HOST[:PORT]` (TLS from the start, port 465), with `USER@` in it
to log in; the password comes from the environment (CERTCLI_SMTP_PASSWORD), never from the URL, and
is never shown: the server's answers and the errors are scrubbed of it in every form AUTH sends it in
(`certcli.scrubbing`). Certificates are checked.

`Mailer.send` reports what became of each message and raises nothing: a refusal (4xx, 5xx), a
connection that fails or times out. One connection serves a run; a server that cannot be reached
is not tried again for each message of the run.

Only imported by `remind` (smtplib pulls in ssl, socket and email).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple

from certcli.errors import UsageError
from certcli.scrubbing import hide, hide_smtp_login, scrub

if TYPE_CHECKING:
    import smtplib
    from email.message import EmailMessage

TIMEOUT = 30.0  # seconds for connecting and for each exchange with the server
PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
REASON_LIMIT = 300  # characters of the server's explanation kept


class Server(NamedTuple):
    """Where to send: the scheme (one of PORTS), host, port and the user to log in as (None: no login)."""

    scheme: str
    host: str
    port: int
    user: str | None

    @property
    def shown(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def server_from_url(url: str) -> Server:
    """The server `url` names; UsageError (the URL shown without a password) when it is not one."""
    from urllib.parse import unquote, urlsplit

    from certcli.store import redact

    hint = (
        "set CERTCLI_SMTP_URL to smtp://HOST[:PORT], smtp+starttls://[USER@]HOST[:PORT] or smtps://[USER@]HOST[:PORT]"
    )
    shown = redact(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UsageError(f"CERTCLI_SMTP_URL {shown!r} is not a valid address", hint=hint) from None
    if parts.scheme not in PORTS or not parts.hostname:
        what = "an smtp://, smtp+starttls:// or smtps:// address"
        raise UsageError(f"CERTCLI_SMTP_URL {shown!r} is not {what}", hint=hint)
    if parts.password is not None:
        raise UsageError(
            "CERTCLI_SMTP_URL holds a password, which would be shown wherever the environment is",
            hint="put the password in CERTCLI_SMTP_PASSWORD and leave it out of the URL",
        )
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise UsageError(f"CERTCLI_SMTP_URL {shown!r} has a path, a query or a fragment", hint=hint)
    user = unquote(parts.username) if parts.username else None
    return Server(parts.scheme, parts.hostname, port or PORTS[parts.scheme], user)


class Mailer:
    """One run's connection to the server, opened at the first message and closed at the end."""

    def __init__(self, server: Server, password: str | None) -> None:
        self.server, self.password = server, password
        if server.user is not None:
            hide_smtp_login(server.user, password or "")
        elif password:
            hide(password)
        self.connection: smtplib.SMTP | None = None
        self.unreachable: str | None = None  # why connecting failed: the run's later messages fail the same way

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def send(self, message: EmailMessage) -> str | None:
        """Hand `message` to the server: None once it accepted it, else why not (one line, no secret)."""
        import smtplib

        if self.unreachable is not None:
            return f"not sent: {self.unreachable}"
        try:
            connection = self.connection or self._connect()
        except UnicodeEncodeError:  # smtplib logs in with ASCII only; the error would quote the character
            self.unreachable = f"cannot log in to {self.server.shown}: the user name and password must be ASCII"
            return self.unreachable
        except (OSError, smtplib.SMTPException) as error:
            self.unreachable = self.clean(f"cannot connect to the mail server {self.server.shown}: {_reason(error)}")
            return self.unreachable
        try:
            refused = connection.send_message(message)
        except smtplib.SMTPServerDisconnected as error:
            self.connection = None  # the next message connects again
            return self.clean(f"the mail server {self.server.shown} closed the connection: {_reason(error)}")
        except (OSError, smtplib.SMTPException) as error:
            if not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                self.close()
            return self.clean(f"the mail server refused it: {_reason(error)}")
        if refused:  # some of several recipients: certcli sends each message to one
            return self.clean(f"the mail server refused {', '.join(refused)}")
        return None

    def _connect(self) -> smtplib.SMTP:
        import smtplib
        import ssl

        server = self.server
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if server.scheme == "smtps":
            connection = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        try:
            if server.scheme == "smtp+starttls":
                connection.starttls(context=context)
            if server.user is not None:
                connection.login(server.user, self.password or "")
        except BaseException:
            connection.close()
            raise
        self.connection = connection
        return connection

    def close(self) -> None:
        import smtplib

        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None

    def clean(self, text: str) -> str:
        """One line, at most REASON_LIMIT characters, without the password in any form should the server
        echo it (`certcli.scrubbing`)."""
        text = scrub(" ".join(text.split()))
        return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def _reason(error: BaseException) -> str:
    """What the server answered (code and text), or what went wrong on the way."""
    import smtplib

    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{who}: {_answer(code, text)}" for who, (code, text) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        return _answer(error.smtp_code, error.smtp_error)
    return str(error) or type(error).__name__


def _answer(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
