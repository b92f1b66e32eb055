"""`certcli export-xapi --lrs URL`: statements sent to a learning record store.

Against a real LRS: the ralph LRS server (ralph-malph's FastAPI app, `ralph.api:app`, run by uvicorn
with its file-system backend, as `ralph runserver --backend fs` runs it) started on 127.0.0.1 for this
module. Each test writes as its own LRS account whose statements go to their own folder, so each
starts with an empty LRS. What a real server does not do on demand (fail, refuse part of a batch,
redirect) comes from small servers in threads, one of them a proxy in front of ralph.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from typer.testing import CliRunner, Result

from certcli import lrs
from certcli.cli import app
from certcli.errors import UsageError

DEMO_NOW = "2026-11-28"
RALPH_MODULES = ("ralph.api", "uvicorn", "fastapi", "bcrypt")
ACCOUNTS = 24  # more than the tests below use: each takes its own
SERVER_START_SECONDS = 60
SUBMITTED = "http://activitystrea.ms/schema/1.0/submit"
REVIEW_VERBS = ("http://activitystrea.ms/schema/1.0/approve", "http://activitystrea.ms/schema/1.0/reject")


@pytest.fixture(autouse=True)
def no_lrs_credentials_nor_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials from the outside, no proxy between the tests and 127.0.0.1, short pauses between tries."""
    monkeypatch.delenv("CERTCLI_LRS_AUTH", raising=False)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(lrs, "FIRST_DELAY", 0.01)


# ---------------------------------------------------------------- the ralph LRS server


class Account(NamedTuple):
    """One LRS account: its credentials and the file the LRS keeps its statements in."""

    endpoint: str
    credentials: str
    statements_file: Path

    def stored(self) -> list[dict[str, Any]]:
        if not self.statements_file.exists():
            return []
        return [json.loads(line) for line in self.statements_file.read_text(encoding="utf-8").splitlines()]


class RalphServer(NamedTuple):
    endpoint: str
    accounts: Iterator[Account]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ralph_environment(folder: Path) -> dict[str, str]:
    """ralph's settings (pydantic-settings, prefix RALPH_, `__` between levels) pointing into `folder`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RALPH_")}
    env.update(
        {
            "RALPH_APP_DIR": str(folder),  # its history file and default auth file, not the user's
            "RALPH_AUTH_FILE": str(folder / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(folder / "statements"),
        }
    )
    return env


def write_accounts(folder: Path, endpoint: str) -> list[Account]:
    """ralph's Basic auth file: bcrypt hashes, scopes, the account's agent, and a `target` folder of its own."""
    import bcrypt

    accounts, entries = [], []
    for number in range(ACCOUNTS):
        name, password = f"certcli{number}", secrets.token_urlsafe(12)
        (folder / "statements" / name).mkdir(parents=True)
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        agent = {"mbox": f"mailto:{name}@lrs.example.com"}
        entries.append({"username": name, "hash": hashed, "scopes": ["all"], "agent": agent, "target": name})
        accounts.append(Account(endpoint, f"{name}:{password}", folder / "statements" / name / "fs_lrs.jsonl"))
    (folder / "auth.json").write_text(json.dumps(entries), encoding="utf-8")
    return accounts


def wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the ralph LRS server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"the ralph LRS server did not answer {url} in {SERVER_START_SECONDS} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RalphServer]:
    missing = [name for name in RALPH_MODULES if importlib.util.find_spec(name.split(".")[0]) is None]
    if missing:
        pytest.skip(f"the ralph LRS server is not installed ({', '.join(missing)}): pip install -e '.[test]'")
    folder = tmp_path_factory.mktemp("ralph-lrs")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/xAPI/"
    accounts = write_accounts(folder, endpoint)
    log = folder / "server.log"
    command = [sys.executable, "-m", "uvicorn", "ralph.api:app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=folder, env=ralph_environment(folder), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_answering(process, f"http://127.0.0.1:{port}/__heartbeat__", log)
        yield RalphServer(endpoint, iter(accounts))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def account(ralph: RalphServer) -> Account:
    """An LRS account of its own: an empty LRS."""
    return next(ralph.accounts)


# ---------------------------------------------------------------- small servers in threads


class Received(NamedTuple):
    path: str
    headers: dict[str, str]  # names in lower case
    statements: list[dict[str, Any]]


Responder = Callable[[Received, int], tuple[int, bytes, dict[str, str]]]


class StubServer:
    """An HTTP server on 127.0.0.1 that records each request and answers with `respond(request, number)`."""

    def __init__(self, respond: Responder) -> None:
        self.received: list[Received] = []
        self.answered: list[int] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {key.lower(): value for key, value in self.headers.items()}
                request = Received(self.path, headers, json.loads(body))
                stub.received.append(request)
                status, payload, headers = respond(request, len(stub.received))
                stub.answered.append(status)
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/xAPI/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[Callable[[Responder], StubServer]]:
    started: list[StubServer] = []

    def start(respond: Responder) -> StubServer:
        started.append(StubServer(respond))
        return started[-1]

    yield start
    for server in started:
        server.close()


def answer(status: int, body: Any = None, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    return status, b"" if body is None else json.dumps(body).encode(), headers


def forward_to(target: str) -> Responder:
    """A proxy's answer: the request sent on to `target` (the same path and xAPI headers), its answer back."""
    origin = target.split("/xAPI/")[0]

    def respond(request: Received, number: int) -> tuple[int, bytes, dict[str, str]]:
        kept = ("authorization", "x-experience-api-version", "content-type")
        headers = {key: value for key, value in request.headers.items() if key in kept}
        data = json.dumps(request.statements).encode()
        forwarded = urllib.request.Request(origin + request.path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as reply:
                return reply.status, reply.read(), {}
        except urllib.error.HTTPError as error:
            return error.code, error.read(), {}

    return respond


# ---------------------------------------------------------------- running the command


runner = CliRunner()


def cli(store: Path, *args: str, credentials: str | None = None, actor: str = "root") -> Result:
    env = {"CERTCLI_LRS_AUTH": credentials} if credentials is not None else None
    result = runner.invoke(app, ["--store", str(store), "--as", actor, "--now", DEMO_NOW, *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def send(store: Path, endpoint: str, *args: str, credentials: str | None = None) -> tuple[Result, dict[str, Any]]:
    result = cli(store, "export-xapi", "--lrs", endpoint, "--json", *args, credentials=credentials)
    return result, json.loads(result.stdout) if result.stdout else {}


def exported(store: Path, *args: str) -> list[dict[str, Any]]:
    result = cli(store, "export-xapi", *args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def secret_of(credentials: str) -> str:
    return credentials.partition(":")[2]


def assert_not_shown(result: Result, credentials: str) -> None:
    assert secret_of(credentials) not in result.stdout + result.stderr


# ---------------------------------------------------------------- the real LRS


def test_every_statement_of_the_demo_store_is_stored_by_the_lrs(demo_store: Path, account: Account) -> None:
    statements = exported(demo_store)
    result, report = send(demo_store, account.endpoint, credentials=account.credentials)
    assert result.exit_code == 0, result.stderr
    assert report == {
        "lrs": account.endpoint + "statements",
        "statements": len(statements),
        "sent": len(statements),
        "already_there": 0,
        "failed": 0,
        "problems": [],
    }
    stored = {item["id"]: item for item in account.stored()}
    assert set(stored) == {item["id"] for item in statements}
    reviews = [item for item in statements if item["verb"]["id"] in REVIEW_VERBS]
    assert len(reviews) == 6  # the statements a strict LRS refused while they named the learner as an Agent
    for review in reviews:
        assert stored[review["id"]]["object"] == review["object"]
        assert stored[review["object"]["id"]]["verb"]["id"] == SUBMITTED  # the submission it decided is there
    message = f"{len(statements)} xAPI statement(s) for {account.endpoint}statements: {len(statements)} sent"
    assert message in result.stderr
    assert_not_shown(result, account.credentials)


def test_a_second_run_sends_nothing_new(demo_store: Path, account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    first, report = send(demo_store, account.endpoint, credentials=account.credentials)
    assert first.exit_code == 0, first.stderr
    held = account.statements_file.read_bytes()
    monkeypatch.setattr(lrs, "BATCH_SIZE", 10)  # several batches, each of them held already
    again, report = send(demo_store, account.endpoint, credentials=account.credentials)
    assert again.exit_code == 0, again.stderr
    assert (report["sent"], report["already_there"], report["failed"]) == (0, report["statements"], 0)
    assert account.statements_file.read_bytes() == held
    assert f"0 sent, {report['statements']} already there, 0 failed." in again.stderr


def test_statements_the_lrs_holds_in_another_version_count_as_already_there(
    demo_store: Path, account: Account, stub: Any
) -> None:
    """A learner renamed since the last run: the LRS answers 409 to the batch, then to each changed statement."""
    first, _ = send(demo_store, account.endpoint, credentials=account.credentials)
    assert first.exit_code == 0, first.stderr
    demo_store.write_text(demo_store.read_text(encoding="utf-8").replace("Ana Souza", "Ana Souza Lima"), "utf-8")
    held = account.statements_file.read_bytes()
    watching = stub(forward_to(account.endpoint))
    again, report = send(demo_store, watching.endpoint, credentials=account.credentials)
    assert again.exit_code == 0, again.stderr
    assert (report["sent"], report["already_there"], report["failed"]) == (0, report["statements"], 0)
    assert account.statements_file.read_bytes() == held  # the LRS keeps what it holds
    renamed = sum("Ana Souza Lima" in json.dumps(request.statements) for request in watching.received[1:])
    assert watching.answered[0] == 409 and watching.answered.count(409) == 1 + renamed > 1
    assert set(watching.answered[1:]) == {204, 409}  # each statement on its own: held as it is, or another version


def test_users_without_an_email_address_are_identified_by_their_account(demo_store: Path, account: Account) -> None:
    assert cli(demo_store, "user", "add", "zed", "--name", "Zed", "--manager", "mia").exit_code == 0
    assert cli(demo_store, "assign", "first-aid-at-work", "zed").exit_code == 0
    assert cli(demo_store, "complete", "first-aid-at-work", "first-aid", actor="zed").exit_code == 0
    proof = demo_store.parent / "certificate.pdf"
    proof.write_bytes(b"%PDF-1.4\n%certificate\n")
    assert cli(demo_store, "upload-proof", "first-aid-at-work", str(proof), actor="zed").exit_code == 0
    assert cli(demo_store, "approve", "first-aid-at-work", "zed", actor="mia").exit_code == 0
    result, report = send(demo_store, account.endpoint, "--user", "zed", credentials=account.credentials)
    assert result.exit_code == 0, result.stderr
    assert report["sent"] == report["statements"] == 5  # registered, course completed, submitted, approved, completed
    zed = {"objectType": "Agent", "name": "Zed", "account": {"homePage": "https://acme.example", "name": "zed"}}
    stored = account.stored()
    learners = [item["actor"] for item in stored if item["verb"]["id"] not in REVIEW_VERBS]
    assert learners == [zed] * 4


def test_wrong_credentials_are_refused_never_retried_and_never_shown(demo_store: Path, account: Account) -> None:
    wrong = account.credentials.partition(":")[0] + ":not-" + secrets.token_urlsafe(8)
    result, report = send(demo_store, account.endpoint, credentials=wrong)
    assert result.exit_code == 6
    assert report["sent"] == 0 and report["failed"] == report["statements"]
    assert report["problems"][0]["status"] == 401
    assert "hint: set CERTCLI_LRS_AUTH" in result.stderr
    assert_not_shown(result, wrong)
    assert account.stored() == []


def test_no_credentials_are_refused_with_a_hint(demo_store: Path, account: Account) -> None:
    result, report = send(demo_store, account.endpoint)
    assert result.exit_code == 6
    assert report["problems"][0]["status"] in (401, 403)
    assert "CERTCLI_LRS_AUTH" in result.stderr


def test_a_server_that_fails_once_is_retried(demo_store: Path, account: Account, stub: Any) -> None:
    ralph_answer = forward_to(account.endpoint)

    def fail_once(request: Received, number: int) -> tuple[int, bytes, dict[str, str]]:
        return answer(503, {"detail": "warming up"}) if number == 1 else ralph_answer(request, number)

    proxy = stub(fail_once)
    result, report = send(demo_store, proxy.endpoint, credentials=account.credentials)
    assert result.exit_code == 0, result.stderr
    assert report["sent"] == report["statements"] == len(account.stored())
    assert len(proxy.received) == 2
    assert proxy.received[0].statements == proxy.received[1].statements


def test_the_installed_program_sends_to_the_lrs(certcli_exe: str, demo_store: Path, account: Account) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    env.update({"CERTCLI_STORE": str(demo_store), "CERTCLI_USER": "root", "CERTCLI_NOW": DEMO_NOW})
    env["CERTCLI_LRS_AUTH"] = account.credentials
    done = subprocess.run(
        [certcli_exe, "export-xapi", "--cert", "first-aid-at-work", "--lrs", account.endpoint.rstrip("/")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    stored = account.stored()
    assert stored and f": {len(stored)} sent, 0 already there, 0 failed." in done.stderr
    assert secret_of(account.credentials) not in done.stderr


# ---------------------------------------------------------------- servers that fail or refuse


def test_a_server_that_keeps_failing_gives_exit_6(demo_store: Path, stub: Any) -> None:
    failing = stub(lambda request, number: answer(500, {"detail": "database down"}))
    result, report = send(demo_store, failing.endpoint, credentials="key:secret")
    assert result.exit_code == 6
    assert (report["sent"], report["already_there"], report["failed"]) == (0, 0, report["statements"])
    assert report["problems"][0]["status"] == 500
    assert "database down" in report["problems"][0]["reason"]
    assert len(failing.received) == lrs.ATTEMPTS
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors[0] == f"error: {report['statements']} of {report['statements']} statement(s) did not reach " + (
        failing.endpoint + "statements"
    )
    assert "(4 attempts)" in errors[1]


def test_the_statements_go_in_batches_with_the_xapi_headers(
    demo_store: Path, stub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lrs, "BATCH_SIZE", 40)
    store = stub(lambda request, number: answer(200, [item["id"] for item in request.statements]))
    result, report = send(demo_store, store.endpoint.rstrip("/") + "/statements", credentials="key:s3cr:et")
    assert result.exit_code == 0, result.stderr
    assert [len(request.statements) for request in store.received] == [40, 40, report["statements"] - 80]
    assert [item for request in store.received for item in request.statements] == exported(demo_store)
    for request in store.received:
        assert request.path == "/xAPI/statements"
        assert request.headers["x-experience-api-version"] == "1.0.3"
        assert request.headers["content-type"].startswith("application/json")
        assert request.headers["authorization"] == "Basic a2V5OnMzY3I6ZXQ="  # key:s3cr:et


def test_a_refused_batch_is_sent_again_one_statement_at_a_time(demo_store: Path, stub: Any) -> None:
    """An LRS that refuses any batch holding a voiding statement (422), and takes the rest."""
    voided = "http://adlnet.gov/expapi/verbs/voided"

    def strict(request: Received, number: int) -> tuple[int, bytes, dict[str, str]]:
        if any(item["verb"]["id"] == voided for item in request.statements):
            return answer(422, {"detail": [{"loc": ["body", 0, "object"], "msg": "voiding is not allowed"}]})
        return answer(200, [item["id"] for item in request.statements])

    store = stub(strict)
    statements = exported(demo_store)
    voids = [item["id"] for item in statements if item["verb"]["id"] == voided]
    result, report = send(demo_store, store.endpoint, credentials="key:secret")
    assert result.exit_code == 6
    assert (report["sent"], report["failed"]) == (len(statements) - len(voids), len(voids))
    assert [problem["statements"] for problem in report["problems"]] == [[void] for void in voids]
    reason = "the LRS answered 422 Unprocessable Entity: body.0.object: voiding is not allowed"
    assert report["problems"][0]["reason"] == reason
    assert f"error: statement {voids[0]}: the LRS answered 422" in result.stderr
    assert len(store.received) == 1 + len(statements)  # the batch, then each statement once, none retried


def test_a_statement_answered_409_is_already_there(demo_store: Path, stub: Any) -> None:
    held = {item["id"] for item in exported(demo_store)[::2]}

    def holding(request: Received, number: int) -> tuple[int, bytes, dict[str, str]]:
        if any(item["id"] in held for item in request.statements):
            return answer(409, {"detail": "Statement already exists"})
        return answer(200, [item["id"] for item in request.statements])

    result, report = send(demo_store, stub(holding).endpoint, credentials="key:secret")
    assert result.exit_code == 0, result.stderr
    assert (report["sent"], report["already_there"]) == (report["statements"] - len(held), len(held))


def test_a_refusal_other_than_409_or_429_is_not_retried_and_stops_the_run(
    demo_store: Path, stub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lrs, "BATCH_SIZE", 50)
    forbidden = stub(lambda request, number: answer(403, {"detail": "no statements/write scope"}))
    result, report = send(demo_store, forbidden.endpoint, credentials="key:secret")
    assert result.exit_code == 6
    assert len(forbidden.received) == 1
    assert report["failed"] == report["statements"]
    assert [problem["status"] for problem in report["problems"]] == [403, None]
    assert "not sent: the run stopped" in report["problems"][1]["reason"]


def test_too_many_requests_is_retried(demo_store: Path, stub: Any) -> None:
    def busy_once(request: Received, number: int) -> tuple[int, bytes, dict[str, str]]:
        if number == 1:
            return answer(429, {"detail": "slow down"}, **{"Retry-After": "0"})
        return answer(200, [item["id"] for item in request.statements])

    server = stub(busy_once)
    result, report = send(demo_store, server.endpoint, credentials="key:secret")
    assert result.exit_code == 0, result.stderr
    assert len(server.received) == 2 and report["sent"] == report["statements"]


def test_a_redirect_is_not_followed(demo_store: Path, stub: Any) -> None:
    moved = stub(lambda request, number: answer(307, {}, Location="http://elsewhere.example/xAPI/statements"))
    result, report = send(demo_store, moved.endpoint, credentials="key:secret")
    assert result.exit_code == 6
    assert len(moved.received) == 1
    assert "redirects to http://elsewhere.example/xAPI/statements" in report["problems"][0]["reason"]


def test_nothing_listening_is_retried_then_exit_6(demo_store: Path) -> None:
    result, report = send(demo_store, f"http://127.0.0.1:{free_port()}/xAPI", credentials="key:secret")
    assert result.exit_code == 6
    assert report["problems"][0]["status"] is None
    assert report["problems"][0]["reason"].startswith("no answer from the LRS")
    assert f"({lrs.ATTEMPTS} attempts)" in report["problems"][0]["reason"]


def test_an_lrs_echoing_the_credentials_does_not_get_them_shown(demo_store: Path, stub: Any) -> None:
    def echo(request: Received, number: int) -> tuple[int, bytes, dict[str, str]]:
        return answer(400, {"detail": f"bad request from {request.headers['authorization']} (key:hunter2)"})

    result, report = send(demo_store, stub(echo).endpoint, "--cert", "ckad", credentials="key:hunter2")
    assert result.exit_code == 6
    shown = result.stdout + result.stderr
    assert "hunter2" not in shown and "a2V5Omh1bnRlcjI=" not in shown
    assert "***" in report["problems"][0]["reason"]


def test_an_lrs_refusing_with_the_credentials_in_every_form_gets_none_of_them_shown(
    demo_store: Path, stub: Any
) -> None:
    import base64
    from urllib.parse import quote, quote_plus

    key, secret = "lrs-key-7Qx2", "s3cr%t/+=pass"
    credentials = f"{key}:{secret}"

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    forms = [credentials, key, secret, b64(credentials), b64(key), b64(secret), quote(secret, safe=""),
             quote_plus(secret), quote(credentials, safe="")]  # fmt: skip

    def refuse(request: Received, number: int) -> tuple[int, bytes, dict[str, str]]:
        return answer(401, {"detail": f"{request.headers['authorization']} for key {key}: {' '.join(forms)}"})

    result, report = send(demo_store, stub(refuse).endpoint, "--cert", "ckad", credentials=credentials)
    assert result.exit_code == 6
    assert report["problems"][0]["status"] == 401 and "Basic ***" in report["problems"][0]["reason"]
    shown = result.stdout + result.stderr
    for form in forms:
        assert form.rstrip("=") not in shown, form


# ---------------------------------------------------------------- usage


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--lrs", "http://127.0.0.1:9/xAPI", "-o", "out.jsonl"], "--lrs and -o exclude each other"),
        (["--json"], "--json goes with --lrs"),
        (["--lrs", "ftp://lrs.example/xAPI"], "not an http:// or https:// address"),
        (["--lrs", "lrs.example/xAPI"], "not an http:// or https:// address"),
        (["--lrs", "https://lrs.example:99999/xAPI"], "not a valid address"),
        (["--lrs", "https://lrs.example/xAPI?x=1"], "has a query or a fragment"),
    ],
)
def test_usage_errors_exit_2_before_anything_is_sent(demo_store: Path, args: list[str], needle: str) -> None:
    result = cli(demo_store, "export-xapi", *args)
    assert result.exit_code == 2, result.stderr
    assert needle in result.stderr
    assert result.stdout == ""


def test_credentials_in_the_address_are_refused_and_not_shown(demo_store: Path) -> None:
    result = cli(demo_store, "export-xapi", "--lrs", "https://key:hunter2@lrs.example/xAPI/")
    assert result.exit_code == 2
    assert "hunter2" not in result.stderr and "key" not in result.stderr
    assert "https://***@lrs.example/xAPI/" in result.stderr
    assert "CERTCLI_LRS_AUTH" in result.stderr


def test_credentials_without_a_colon_are_refused_without_showing_them(demo_store: Path) -> None:
    result = cli(demo_store, "export-xapi", "--lrs", "https://lrs.example/xAPI/", credentials="hunter2token")
    assert result.exit_code == 2
    assert "CERTCLI_LRS_AUTH is not USER:PASSWORD" in result.stderr
    assert "hunter2token" not in result.stderr


def test_access_is_checked_as_for_the_export(demo_store: Path, stub: Any) -> None:
    server = stub(lambda request, number: answer(200, []))
    result = cli(demo_store, "export-xapi", "--lrs", server.endpoint, "--user", "ben", actor="ana")
    assert result.exit_code == 4
    assert server.received == []


@pytest.mark.parametrize(
    ("given", "resource"),
    [
        ("http://127.0.0.1:8100/xAPI", "http://127.0.0.1:8100/xAPI/statements"),
        ("http://127.0.0.1:8100/xAPI/", "http://127.0.0.1:8100/xAPI/statements"),
        ("https://lrs.example/data/xAPI/statements", "https://lrs.example/data/xAPI/statements"),
        ("https://lrs.example/data/xAPI/statements/", "https://lrs.example/data/xAPI/statements"),
        ("https://lrs.example", "https://lrs.example/statements"),
    ],
)
def test_the_statements_resource_is_the_endpoint_with_statements_appended(given: str, resource: str) -> None:
    assert lrs.statements_resource(given) == resource


def test_a_bad_address_is_a_usage_error_that_hides_credentials() -> None:
    with pytest.raises(UsageError) as caught:
        lrs.statements_resource("ftp://me:pw@lrs.example/xAPI")
    assert "pw" not in caught.value.message
