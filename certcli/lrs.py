"""Sending xAPI statements to a learning record store (`export-xapi --lrs`), with the standard library.

Statements are POSTed in batches to the LRS's statements resource with the xAPI 1.0.3 headers. A batch
that gets no answer, a 5xx or a 429 is sent again after a pause that doubles each time; any other
refusal will not change by asking again. A batch refused for its content (400, 409, 413, 422) is sent
again one statement at a time, so one bad statement does not keep the others out, and a statement
answered 409 is one the LRS holds already. Statement ids are deterministic, so sending again is safe:
the LRS recognises what it holds. Any other failure stops the run: the LRS is down, or the address or
the credentials are wrong, and the batches after it would fail the same way.

Only imported by `export-xapi --lrs` (urllib pulls in http.client, email and ssl).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from certcli.errors import UsageError
from certcli.scrubbing import hide_http_basic, scrub

if TYPE_CHECKING:
    import urllib.error
    import urllib.request

XAPI_VERSION = "1.0.3"
# Statements per POST. Large, because an LRS stores a batch as one write and some take few writes well
# (ralph's file-system backend, meant for development, takes one per file); small enough for any request limit.
BATCH_SIZE = 500
TIMEOUT = 30.0  # seconds for each request: connecting, sending and reading the answer
ATTEMPTS = 4  # each batch: the first try and three more
FIRST_DELAY = 1.0  # seconds before the second try, doubling before each next one (tests shrink it)
MAX_DELAY = 60.0  # the longest pause a Retry-After header may ask for
REFUSED_CONTENT = frozenset({400, 409, 413, 422})  # about the statements sent, not the LRS or the request
ALREADY_HELD = 409
ANSWER_LIMIT = 1 << 20  # bytes of an answer read: ids of a batch, or an error
REASON_LIMIT = 300  # characters of the LRS's explanation kept in a problem


class Problem(NamedTuple):
    """Statements the LRS did not store: their ids, its HTTP status (None: no answer, or not sent), why."""

    ids: list[str]
    status: int | None
    reason: str


class Delivery:
    """The counts of one run, and its problems in the order they happened."""

    def __init__(self, total: int) -> None:
        self.total, self.sent, self.already_there, self.failed = total, 0, 0, 0
        self.problems: list[Problem] = []


class Answer(NamedTuple):
    """What the LRS answered one POST: status None when it did not answer (refused, reset, timed out)."""

    status: int | None
    ids: list[str] | None = None  # the ids a 200 lists: the statements it stored
    reason: str = ""
    retry_after: float | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def worth_retrying(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


# ---------------------------------------------------------------- the address and the credentials


def statements_resource(url: str) -> str:
    """The statements resource of the LRS whose xAPI endpoint is `url`: `statements` appended, unless
    `url` already ends with it. UsageError (shown without any user name or password) when it is not an
    http(s) address, or holds credentials, a query or a fragment."""
    from urllib.parse import urlsplit, urlunsplit

    hint = "give the LRS's xAPI endpoint, such as https://lrs.example.com/xAPI/"
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port out of range raises here
    except ValueError:
        raise UsageError(f"--lrs {_shown(url)!r} is not a valid address", hint=hint) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--lrs {_shown(url)!r} is not an http:// or https:// address", hint=hint)
    if "@" in parts.netloc:
        raise UsageError(
            f"--lrs {_shown(url)!r} holds credentials, which would be shown wherever the command line is",
            hint="put USER:PASSWORD in the environment variable CERTCLI_LRS_AUTH and leave them out of the address",
        )
    if parts.query or parts.fragment:
        raise UsageError(f"--lrs {_shown(url)!r} has a query or a fragment", hint=hint)
    path = parts.path.rstrip("/")
    if not path.endswith("/statements"):
        path += "/statements"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _shown(url: str) -> str:
    """`url` without what its user part holds (a user name and password)."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if separator and "@" in authority:
        return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"
    return url


def basic_authorization(credentials: str) -> str:
    """The Authorization header of HTTP Basic for `credentials`, USER:PASSWORD (never shown, even when wrong)."""
    import base64

    hide_http_basic(credentials)
    if ":" not in credentials:
        raise UsageError(
            "CERTCLI_LRS_AUTH is not USER:PASSWORD (its value is not shown)",
            hint="set it to the LRS's key and secret joined by a colon, or unset it to send no credentials",
        )
    return "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")


# ---------------------------------------------------------------- sending


def send(statements: Sequence[dict[str, Any]], resource: str, authorization: str | None) -> Delivery:
    """Send `statements` to `resource` in batches; what became of each is counted, nothing is raised."""
    poster = Poster(resource, authorization)
    delivery = Delivery(len(statements))
    batches = [list(statements[start : start + BATCH_SIZE]) for start in range(0, len(statements), BATCH_SIZE)]
    _send_groups(poster, batches, delivery)
    return delivery


def _send_groups(poster: Poster, groups: list[list[dict[str, Any]]], delivery: Delivery) -> bool:
    """Send each group in turn; False (and the groups after it counted as failed) once one stops the run."""
    for position, group in enumerate(groups):
        if not _send_group(poster, group, delivery):
            left = [statement["id"] for later in groups[position + 1 :] for statement in later]
            if left:
                delivery.failed += len(left)
                delivery.problems.append(Problem(left, None, "not sent: the run stopped at the failure before"))
            return False
    return True


def _send_group(poster: Poster, group: list[dict[str, Any]], delivery: Delivery) -> bool:
    """Send one group; False when its failure should stop the run."""
    answer = _post_until_answered(poster, group)
    ids = [statement["id"] for statement in group]
    if answer.accepted:
        stored = set(ids) if answer.ids is None and answer.status != 204 else set(answer.ids or ())
        delivery.sent += sum(1 for found in ids if found in stored)
        delivery.already_there += sum(1 for found in ids if found not in stored)
        return True
    if answer.status in REFUSED_CONTENT and len(group) > 1:
        return _send_groups(poster, [[statement] for statement in group], delivery)
    if answer.status == ALREADY_HELD:
        delivery.already_there += len(group)
        return True
    delivery.failed += len(group)
    delivery.problems.append(Problem(ids, answer.status, answer.reason))
    return answer.status in REFUSED_CONTENT


def _post_until_answered(poster: Poster, group: list[dict[str, Any]]) -> Answer:
    """POST `group`, again after a growing pause while the answer is worth retrying, at most ATTEMPTS times."""
    import time

    answer = poster.post(group)
    for attempt in range(1, ATTEMPTS):
        if not answer.worth_retrying:
            break
        delay = FIRST_DELAY * 2 ** (attempt - 1)
        if answer.retry_after is not None:
            delay = max(delay, min(answer.retry_after, MAX_DELAY))
        time.sleep(delay)
        answer = poster.post(group)
    if answer.worth_retrying:
        answer = answer._replace(reason=f"{answer.reason} ({ATTEMPTS} attempts)")
    return answer


class Poster:
    """POSTs JSON to one statements resource: no redirects followed (they would carry the credentials
    elsewhere), a timeout on every request, an LRS's explanation kept short and free of the credentials."""

    def __init__(self, resource: str, authorization: str | None) -> None:
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.resource, self.authorization = resource, authorization
        self.opener: urllib.request.OpenerDirector = urllib.request.build_opener(NoRedirect())

    def request(self, body: bytes) -> urllib.request.Request:
        import urllib.request

        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Experience-API-Version": XAPI_VERSION,
            "User-Agent": "certcli",
        }
        if self.authorization is not None:
            headers["Authorization"] = self.authorization
        return urllib.request.Request(self.resource, data=body, headers=headers, method="POST")

    def post(self, group: list[dict[str, Any]]) -> Answer:
        import http.client
        import json
        import urllib.error

        request = self.request(json.dumps(group, ensure_ascii=False).encode("utf-8"))
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                return Answer(response.status, _listed_ids(response.read(ANSWER_LIMIT)))
        except urllib.error.HTTPError as error:
            return self.refusal(error)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            cause = getattr(error, "reason", None) or error
            return Answer(None, reason=self.clean(f"no answer from the LRS: {cause}"))

    def refusal(self, error: urllib.error.HTTPError) -> Answer:
        """The answer an HTTP error status stands for, with the LRS's explanation."""
        import http.client

        try:
            body = error.read(ANSWER_LIMIT)
        except (OSError, http.client.HTTPException):
            body = b""
        finally:
            error.close()
        reason = f"the LRS answered {error.code} {error.reason}{_explanation(body)}"
        if 300 <= error.code < 400:
            reason += f"; it redirects to {error.headers.get('Location', '?')}: give that address"
        return Answer(error.code, reason=self.clean(reason), retry_after=_seconds(error.headers.get("Retry-After")))

    def clean(self, text: str) -> str:
        """One line, at most REASON_LIMIT characters, without the credentials in any form should the LRS
        echo them (`certcli.scrubbing`)."""
        text = scrub(" ".join(text.split()))
        return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def _listed_ids(body: bytes) -> list[str] | None:
    """The statement ids a 200 lists (xAPI: the ids stored); None when it lists none."""
    import json

    try:
        found = json.loads(body) if body.strip() else None
    except ValueError:
        return None
    return [item for item in found if isinstance(item, str)] if isinstance(found, list) else None


def _explanation(body: bytes) -> str:
    """The LRS's explanation of a refusal: its JSON `detail` (a FastAPI LRS such as ralph lists the
    invalid places), or the start of its text."""
    import json

    text = body.decode("utf-8", "replace").strip()
    try:
        detail = json.loads(text).get("detail") if text.startswith("{") else None
    except ValueError:
        detail = None
    if isinstance(detail, list):  # [{loc: [...], msg: ...}, ...]: the first invalid place is enough to act on
        first = detail[0] if detail and isinstance(detail[0], dict) else {}
        where = ".".join(str(part) for part in first.get("loc", []))
        detail = f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
    shown = str(detail) if detail else text
    return f": {shown}" if shown else ""


def _seconds(value: str | None) -> float | None:
    """A Retry-After header's delay in seconds (its date form is ignored)."""
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
