"""`certcli report --format html`: one self-contained page with the compliance picture.

The page builder without a browser (escaping, the policy that forbids every request, the expiry months);
the command line on every backend (the page's numbers are `report --summary --json`'s, -o and its
refusals); and the installed `certcli`'s page opened in a real headless chromium over the DevTools
protocol: no console error, no request but the file itself, the numbers shown equal the JSON, a click
on a heading sorts the learners, and a screenshot kept under tests/artifacts/.

The demo store as of 2026-12-01 (fixtures/acme.toml): 9 certifications, 31 learner rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from backends import store_state
from browser import Browser, find_chromium
from typer.testing import CliRunner, Result

from certcli import rules, usecases
from certcli.cli import app
from certcli.formats import html_report
from certcli.store import open_store

NOW = "2026-12-01"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOSTILE_NAME = '<img src="x" onerror="alert(1)">\u202eevil'  # as an older store may hold it
HOSTILE_MARKUP = '<img src="x" onerror="alert(1)">evil'  # what a command still takes: markup is text
HOSTILE_TITLE = "</script><script>alert(2)</script> & \"quotes\" 'too'"


# ---------------------------------------------------------------- reading a page without a browser


class PageNumbers(HTMLParser):
    """What a page shows as numbers: per certification (`tr[data-cert]`) each `data-field` cell's text and
    `data-value`; the totals (`data-total`); the learners' rows (`tr[data-user]`) in order."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.certs: dict[str, dict[str, tuple[str, str | None]]] = {}
        self.totals: dict[str, str] = {}
        self.users: list[str] = []
        self.scripts = 0
        self._cert: str | None = None
        self._open: tuple[str, str, str | None] | None = None  # where the text goes, its key, its data-value
        self._text = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.scripts += tag == "script"
        if tag == "tr" and named.get("data-cert") is not None:
            self._cert = named["data-cert"]
            self.certs[str(self._cert)] = {}
        if tag == "tr" and named.get("data-user") is not None:
            self.users.append(str(named["data-user"]))
        if named.get("data-field") is not None and self._cert is not None:
            self._open, self._text = ("field", str(named["data-field"]), named.get("data-value")), ""
        if named.get("data-total") is not None:
            self._open, self._text = ("total", str(named["data-total"]), None), ""

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag in ("td", "strong"):
            where, key, value = self._open
            if where == "field" and self._cert is not None:
                self.certs[self._cert][key] = (self._text.strip(), value)
            else:
                self.totals[key] = self._text.strip()
            self._open = None
        if tag == "tr":
            self._cert = None


def shown(summary: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """What the page must show for one `report --summary --json` item: counts as they are, the rate as a
    percentage with its exact value in data-value."""
    fields: dict[str, tuple[str, str | None]] = {
        key: (str(summary[key]), None) for key in ("learners", "overdue", "expiring")
    }
    fields.update({f"by_status.{status}": (str(count), None) for status, count in summary["by_status"].items()})
    rate = summary["completion_rate"]
    fields["completion_rate"] = (f"{rate * 100:.1f}\u202f%", str(rate))
    return fields


def assert_shows_summary(numbers: PageNumbers | dict[str, Any], summary: list[dict[str, Any]]) -> None:
    certs = numbers.certs if isinstance(numbers, PageNumbers) else numbers["certs"]
    totals = numbers.totals if isinstance(numbers, PageNumbers) else numbers["totals"]
    assert list(certs) == [item["certification"] for item in summary]
    for item in summary:
        assert {key: tuple(value) for key, value in certs[item["certification"]].items()} == shown(item)
    assert totals == {
        "learners": str(sum(item["learners"] for item in summary)),
        "completed": str(sum(item["by_status"]["completed"] for item in summary)),
        "overdue": str(sum(item["overdue"] for item in summary)),
        "expiring": str(sum(item["expiring"] for item in summary)),
    }


# ---------------------------------------------------------------- the builder, without a browser


def summary_item(cert: str, title: str, **counts: int) -> dict[str, Any]:
    by_status = dict.fromkeys(rules.STATUSES, 0) | counts
    learners = sum(by_status.values())
    rate = round(by_status["completed"] / learners, 3) if learners else 0.0
    return {"certification": cert, "title": title, "learners": learners, "by_status": by_status,
            "completion_rate": rate, "overdue": 0, "expiring": 0}  # fmt: skip


def row(user: str, cert: str, status: str, valid_until: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "user": user, "name": extra.get("name", user.title()), "certification": cert,
        "title": extra.get("title", cert.title()), "status": status, "overdue": extra.get("overdue", False),
        "due": extra.get("due"), "completed_on": "2026-01-01" if status == "completed" else None,
        "valid_until": valid_until, "days_left": extra.get("days_left"), "renewal_open": False, "cycle": 1,
        "active": extra.get("active", True),
    }  # fmt: skip


AS_OF = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)


def sample_page(**changes: Any) -> str:
    summary = [summary_item("sec", HOSTILE_TITLE, completed=2, started=1), summary_item("aws", "AWS", enrolled=1)]
    rows = [
        row("ann", "sec", "completed", "2027-01-10", name=HOSTILE_NAME, days_left=26),
        row("ben", "sec", "completed", "2027-12-31", days_left=381),
        row("cy", "sec", "started", due="2026-11-30", overdue=True, days_left=-15, active=False),
        row("dee", "aws", "enrolled"),
    ]
    arguments: dict[str, Any] = {"summary": summary, "rows": rows, "org": "Acme & Co", "as_of": AS_OF,
                                 "expiring_days": 30} | changes  # fmt: skip
    return html_report.render_report_page(**arguments)


def test_every_text_from_the_store_is_escaped_and_only_the_sorting_script_runs() -> None:
    page = sample_page()
    assert HOSTILE_NAME not in page and "<img" not in page and "alert(2)</script>" not in page
    assert "&lt;img src=&quot;x&quot; onerror=&quot;alert(1)&quot;&gt;\\u202eevil" in page  # shown, not obeyed
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt; &amp; &quot;quotes&quot; &#x27;too&#x27;" in page
    assert PageNumbers(page).scripts == 1
    assert "<title>Acme &amp; Co: compliance report</title>" in page


def test_the_policy_forbids_every_request_and_allows_the_one_script_by_its_hash() -> None:
    page = sample_page()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None and "default-src 'none'" in policy.group(1)
    script = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(script) == 1
    digest = base64.b64encode(hashlib.sha256(script[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy.group(1)
    assert set(re.findall(r'\b(?:src|href)="([^"]*)"', page)) <= {"data:,"}
    assert set(re.findall(r"https?://[^\"'\s)]+", page)) <= {"http://www.w3.org/2000/svg"}  # a namespace, not fetched


def test_the_same_data_draws_the_same_page_with_both_charts() -> None:
    page = sample_page()
    assert page == sample_page()  # no random chart ids, no drawing date
    assert 'id="chart-status-chart"' in page and 'id="chart-expiry-chart"' in page
    assert page.count("<svg") == 2 and "<!--" not in page


def test_numbers_carry_what_they_are() -> None:
    numbers = PageNumbers(sample_page())
    assert numbers.certs["sec"]["completion_rate"] == ("66.7\u202f%", "0.667")
    assert numbers.certs["sec"]["by_status.started"] == ("1", None)
    assert numbers.totals == {"learners": "4", "completed": "2", "overdue": "0", "expiring": "0"}
    assert numbers.users == ["ann", "ben", "cy", "dee"]


def test_rows_are_marked_overdue_expiring_and_deactivated() -> None:
    page = sample_page()
    assert '<tr class="expiring" data-user="ann">' in page  # 26 days left, within 30
    assert '<tr data-user="ben">' in page
    assert '<tr class="overdue" data-user="cy">' in page and "(deactivated)" in page


def test_an_empty_report_says_so_and_draws_no_chart() -> None:
    page = sample_page(summary=[], rows=[])
    assert "No certification to report on." in page and "No learner in this report." in page
    assert "<svg" not in page and PageNumbers(page).totals["learners"] == "0"


def test_no_expiry_ahead_says_so_instead_of_an_empty_chart() -> None:
    page = sample_page(rows=[row("dee", "aws", "enrolled")])
    assert "No completion ends in the next 12 months." in page and 'id="chart-expiry-chart"' not in page


def test_expiries_are_counted_by_month_from_today_for_a_year() -> None:
    today = date(2026, 12, 15)
    rows = [
        row("a", "sec", "completed", "2026-12-15"),  # today: this month
        row("b", "sec", "completed", "2026-12-14"),  # yesterday: already over
        row("c", "sec", "completed", "2027-01-31"),
        row("d", "aws", "completed", "2027-11-30"),  # the twelfth month
        row("e", "aws", "completed", "2027-12-01"),  # the thirteenth: beyond
        row("f", "aws", "expired", "2027-01-01"),  # not a completion
        row("g", "aws", "completed", None),  # never ends
    ]
    assert html_report.month_starts(today)[0] == date(2026, 12, 1)
    assert html_report.month_starts(today)[-1] == date(2027, 11, 1)
    assert html_report.expiries_by_month(rows, today) == {
        "aws": [0] * 11 + [1],
        "sec": [1, 1] + [0] * 10,
    }


def test_the_expiry_grid_ends_with_the_calendar() -> None:
    """In 9999 the coming months run out in December: the grid and its counts stop there."""
    rows = [row("a", "sec", "completed", "9999-12-31"), row("b", "sec", "completed", "9999-03-01")]
    assert html_report.month_starts(date(9999, 2, 1))[-1] == date(9999, 12, 1)
    assert html_report.expiries_by_month(rows, date(9999, 2, 1)) == {"sec": [0, 1] + [0] * 8 + [1]}
    assert html_report.expiries_by_month(rows, date(9999, 12, 31)) == {"sec": [1]}


@pytest.mark.parametrize(("now", "months"), [("9999-02-01", "11 months"), ("9999-12-31T23:59:59", "month")])
def test_a_report_in_the_calendars_last_year_draws_the_months_left(tmp_path: Path, now: str, months: str) -> None:
    store = tmp_path / "acme.toml"
    store.write_bytes((Path(__file__).resolve().parent.parent / "fixtures" / "acme.toml").read_bytes())
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["--store", str(store), "--as", "root", "--now", now, "report", "--format",
                                      "html", "-o", str(page)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert f"Completions ending in the next {months}</h2>" in page.read_text()


# ---------------------------------------------------------------- the command line, on every backend


def cli(store: str, actor: str, *args: str) -> Result:
    result = CliRunner().invoke(app, ["--store", store, "--as", actor, "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result


def succeeded(store: str, actor: str, *args: str) -> str:
    result = cli(store, actor, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def refused(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == "" and result.stderr.startswith("error: ") and result.stderr.count("error: ") == 1
    return result.stderr


def test_the_page_shows_report_summary_json_and_report_json_rows(demo: str) -> None:
    page = succeeded(demo, "root", "report", "--format", "html")  # stdout is no terminal here
    summary = json.loads(succeeded(demo, "root", "report", "--summary", "--format", "json"))
    rows = json.loads(succeeded(demo, "root", "report", "--format", "json"))
    numbers = PageNumbers(page)
    assert_shows_summary(numbers, summary)
    assert numbers.users == [item["user"] for item in rows] and len(rows) == 31


def test_options_narrow_the_page_as_they_narrow_the_json(demo: str) -> None:
    for options in (("--cert", "security-awareness"), ("--expiring-within", "100"), ("--user", "ana")):
        page = succeeded(demo, "root", "report", "--format", "html", *options)
        summary = json.loads(succeeded(demo, "root", "report", "--summary", "--format", "json", *options))
        rows = json.loads(succeeded(demo, "root", "report", "--format", "json", *options))
        assert_shows_summary(PageNumbers(page), summary)
        assert PageNumbers(page).users == [item["user"] for item in rows]
    manager = PageNumbers(succeeded(demo, "mia", "report", "--format", "html"))
    assert set(manager.users) == {"ana", "ben", "chloe", "dev"}


def test_o_writes_the_file_and_says_so(demo: str, tmp_path: Path) -> None:
    target = tmp_path / "compliance.html"
    result = cli(demo, "root", "report", "--format", "html", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == f"Wrote the html report to {target}.\n"
    assert target.read_text().startswith("<!DOCTYPE html>")
    target.write_text("old")
    assert cli(demo, "root", "report", "--format", "html", "--output", str(target)).exit_code == 0
    assert "Acme Corp: compliance report" in target.read_text()


def test_refusals_change_nothing(demo: str, tmp_path: Path) -> None:
    succeeded(demo, "root", "report", "--format", "json")  # a file store's parse cache is made by any read
    before = store_state(demo)
    target = tmp_path / "page.html"
    assert "-o writes the html report" in refused(cli(demo, "root", "report", "--format", "csv", "-o", str(target)), 2)
    assert "drop --summary" in refused(cli(demo, "root", "report", "--summary", "--format", "html"), 2)
    refused(cli(demo, "ana", "report", "--format", "html", "-o", str(target)), 4)  # a learner
    refused(cli(demo, "root", "report", "--format", "html", "--cert", "nope", "-o", str(target)), 3)
    assert not target.exists() and store_state(demo) == before
    if not demo.startswith("postgresql://"):
        assert "part of the store" in refused(cli(demo, "root", "report", "--format", "html", "-o", demo), 2)
        assert store_state(demo) == before


def test_a_terminal_gets_no_page(demo_store: Path, certcli_exe: str) -> None:
    leader, follower = pty.openpty()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    on_terminal = subprocess.run(
        [certcli_exe, "--store", str(demo_store), "--as", "root", "report", "--format", "html"],
        stdout=follower, stderr=subprocess.PIPE, env=environment, timeout=60, check=False,
    )  # fmt: skip
    os.close(follower)
    os.close(leader)
    assert on_terminal.returncode == 2 and b"hint: pass -o FILE" in on_terminal.stderr


def test_other_commands_never_load_the_charting_library(demo_store: Path) -> None:
    probe = (
        "import sys\nfrom certcli.cli import app\n"
        "try:\n    app(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('pygal' in sys.modules, 'certcli.formats.html_report' in sys.modules)"
    )
    base = ["--store", str(demo_store), "--as", "root", "--now", NOW]

    def loaded(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, *base, *args], capture_output=True, text=True, timeout=60)
        return done.stdout.strip().splitlines()[-1]

    assert loaded("report", "--format", "json") == "False False"
    assert loaded("list", "--user", "ana") == "False False"
    assert loaded("report", "--format", "html") == "True True"


# ---------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium on this machine: `apt-get install chromium` (.ci/run installs it)")
    started = Browser(executable, tmp_path_factory.mktemp("chromium-profile"))
    yield started
    started.close()


@pytest.fixture
def hostile_store(demo_store: Path) -> Path:
    """The demo with a learner whose name is markup and a certification whose title closes the script."""
    store = open_store(demo_store)
    at = datetime(2026, 11, 30, tzinfo=UTC)
    admin = usecases.Context(store=store, actor_id="root", now=at)
    usecases.add_user(admin, "mallory", HOSTILE_MARKUP, "learner", None, "mia")
    usecases.define(admin, usecases.Definition("hostile", HOSTILE_TITLE, "external"), False)
    usecases.assign(admin, "hostile", ["mallory", "ana"], None)
    return demo_store


def written_page(certcli_exe: str, store: Path, target: Path, *options: str) -> tuple[str, list[dict[str, Any]]]:
    """The installed certcli's page in `target` (its file URL) and `report --summary --json` beside it."""

    def run(*args: str) -> str:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
        command = [certcli_exe, "--store", str(store), "--as", "root", "--now", NOW, "report", *options, *args]
        done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("--format", "html", "-o", str(target))
    return target.as_uri(), json.loads(run("--summary", "--format", "json"))


READ_NUMBERS = """(() => {
  const certs = {};
  for (const row of document.querySelectorAll("#summary tr[data-cert]")) {
    const fields = {};
    for (const cell of row.querySelectorAll("[data-field]")) {
      const value = cell.dataset.value === undefined ? null : cell.dataset.value;
      fields[cell.dataset.field] = [cell.textContent.trim(), value];
    }
    certs[row.dataset.cert] = fields;
  }
  const totals = {};
  for (const tile of document.querySelectorAll("[data-total]")) {
    totals[tile.dataset.total] = tile.textContent.trim();
  }
  return {certs: certs, totals: totals};
})()"""


def column(browser: Browser, index: int) -> list[str]:
    return list(browser.evaluate(
        f"Array.from(document.querySelectorAll('#learners tbody tr'), row => row.cells[{index}].dataset.value)"
    ))  # fmt: skip


def test_in_chromium_the_page_loads_offline_shows_the_json_numbers_and_a_screenshot_is_kept(
    browser: Browser, certcli_exe: str, demo_store: Path, tmp_path: Path
) -> None:
    url, summary = written_page(certcli_exe, demo_store, tmp_path / "report.html")
    browser.open(url)
    assert browser.problems() == []
    assert browser.requested() == [url]
    assert_shows_summary(browser.evaluate(READ_NUMBERS), summary)
    assert browser.evaluate("document.querySelectorAll('#learners tbody tr').length") == 31
    assert browser.evaluate("document.querySelectorAll('figure.chart svg').length") == 2
    shot = ARTIFACTS / "html-report.png"
    browser.screenshot(shot)
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    print(f"screenshot: {shot}")


def test_in_chromium_clicking_a_heading_sorts_the_learners_and_again_reverses(
    browser: Browser, certcli_exe: str, demo_store: Path, tmp_path: Path
) -> None:
    url, _ = written_page(certcli_exe, demo_store, tmp_path / "report.html")
    browser.open(url)
    days_left = "#learners thead th:nth-child(7) button"
    browser.click(days_left)
    ascending = column(browser, 6)
    known = [int(value) for value in ascending if value != ""]
    assert known == sorted(known) and len(known) > 10
    assert ascending[len(known):] == [""] * (len(ascending) - len(known))  # no date: last
    assert browser.evaluate("document.querySelector('#learners thead th:nth-child(7)').ariaSort") == "ascending"
    browser.click(days_left)
    descending = [int(value) for value in column(browser, 6) if value != ""]
    assert descending == sorted(known, reverse=True)

    browser.click("#learners thead th:nth-child(1) button")
    names = column(browser, 0)
    assert names == sorted(names, key=str.casefold) or names == sorted(names)
    assert browser.problems() == []


def test_in_chromium_markup_in_names_is_text_and_fetches_nothing(
    browser: Browser, certcli_exe: str, hostile_store: Path, tmp_path: Path
) -> None:
    url, summary = written_page(certcli_exe, hostile_store, tmp_path / "report.html")
    browser.open(url)
    assert browser.problems() == [] and browser.requested() == [url]
    assert_shows_summary(browser.evaluate(READ_NUMBERS), summary)
    learner = browser.evaluate("document.querySelector('#learners tr[data-user=mallory] td').textContent")
    assert learner.startswith(HOSTILE_MARKUP)
    title = browser.evaluate("document.querySelector('#summary tr[data-cert=hostile] td').textContent")
    assert title.startswith(HOSTILE_TITLE)
    assert browser.evaluate("document.scripts.length") == 1
    browser.screenshot(ARTIFACTS / "html-report-hostile-names.png")


def test_the_benchmark_runs_and_reports_both_formats() -> None:
    bench = Path(__file__).resolve().parent.parent / "bench" / "html_report.py"
    done = subprocess.run([sys.executable, str(bench), "--learners", "10", "--runs", "1"], capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "50 rows" in done.stdout
    assert "report --format json" in done.stdout and "report --format html -o FILE" in done.stdout
