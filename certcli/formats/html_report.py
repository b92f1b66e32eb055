"""The compliance report as one self-contained HTML page, for `certcli report --format html`.

Pure: built from the summaries and rows that `report --summary --json` and `report --json` give, and
the evaluation time. Everything is inline (style, charts as SVG drawn by pygal, the small script that
sorts the learners table) and the page's Content-Security-Policy allows nothing else, so it opens offline
and makes no request. Every text from the store is escaped; each number shown carries a `data-` attribute
naming what it is, so that a program reading the page finds the same numbers as the JSON.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

from certcli import rules
from certcli.dates import format_date, format_time
from certcli.text import printable

MONTHS_AHEAD = 12
STATUS_COLOURS = {
    rules.ENROLLED: "#9e9e9e",
    rules.STARTED_STATUS: "#1e88e5",
    rules.PENDING_APPROVAL: "#f9a825",
    rules.REJECTED: "#ef6c00",
    rules.COMPLETED: "#2e7d32",
    rules.EXPIRED: "#c62828",
    rules.REVOKED_STATUS: "#6a1b9a",
}
NUMBER_CLASS = ' class="number"'
CHART_COLOURS = ("#1e88e5", "#2e7d32", "#f9a825", "#6a1b9a", "#00897b", "#ef6c00", "#5d4037", "#c62828")

STYLE = """
:root { color-scheme: light; --line: #d0d4da; --muted: #5f6670; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 0 auto; max-width: 82rem; padding: 1.5rem; color: #1d2125; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
.meta, .note { color: var(--muted); margin: 0; }
.tiles { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1rem 0; padding: 0; list-style: none; }
.tiles li { border: 1px solid var(--line); border-radius: .5rem; padding: .6rem 1rem; min-width: 9rem; }
.tiles strong { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.number, th.number { text-align: right; }
thead th { background: #f3f5f7; position: sticky; top: 0; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " \\25B2"; }
th[aria-sort=descending] button::after { content: " \\25BC"; }
.rate { display: flex; align-items: center; gap: .5rem; justify-content: flex-end; }
.bar { width: 4rem; height: .6rem; background: #e6e9ed; border-radius: .3rem; overflow: hidden; }
.bar span { display: block; height: 100%; background: #2e7d32; }
.status { display: inline-block; padding: 0 .45rem; border-radius: .7rem; color: #fff; font-size: .85em;
          white-space: nowrap; background: #5f6670; }
#summary thead .status { white-space: normal; text-align: center; }
#summary { font-size: .92rem; }
#summary td:first-child { min-width: 11rem; }
.wide { overflow-x: auto; }
tr.overdue td { background: #fdecea; }
tr.expiring td { background: #fff8e1; }
.chart { margin: 0; }
.chart svg { width: 100%; height: auto; }
#learners td { white-space: nowrap; }
#learners td:first-child { white-space: normal; }
.id { color: var(--muted); font-size: .85em; }
"""

STATUS_STYLE = "".join(f".status-{status} {{ background: {colour}; }}\n" for status, colour in STATUS_COLOURS.items())

SORT_SCRIPT = """
"use strict";
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (header, column) {
    var button = header.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var numeric = header.dataset.type === "number";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
        if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def text(value: object) -> str:
    """Store text for the page: unprintable characters shown as escapes (a right-to-left override cannot
    turn a name around), then HTML-escaped, quotes too, so it is safe in an element and in an attribute."""
    return escape(printable(str(value)), quote=True)


# ---------------------------------------------------------------- expiries by month


def month_starts(today: date, months: int = MONTHS_AHEAD) -> list[date]:
    """The first day of this month and of the `months - 1` after it, within the calendar."""
    return rules.month_starts(today, months)


def expiries_by_month(
    rows: Iterable[Mapping[str, Any]], today: date, months: int = MONTHS_AHEAD
) -> dict[str, list[int]]:
    """Certification id → how many completions end in each of the coming `months` (this month from
    `today` on): completed rows whose `valid_until` falls in the window. Certifications with none are left out."""
    keys = [format_date(start)[:7] for start in month_starts(today, months)]
    counts: dict[str, list[int]] = {}
    for row in rows:
        until = row["valid_until"]
        if row["status"] != rules.COMPLETED or until is None or until < format_date(today):
            continue
        if until[:7] in keys:
            counts.setdefault(row["certification"], [0] * len(keys))[keys.index(until[:7])] += 1
    return dict(sorted(counts.items()))


# ---------------------------------------------------------------- charts (pygal, imported only here)


def _whole_steps(largest: int) -> list[int]:
    """Axis labels for counts: whole numbers from 0 past `largest`, at most about eight of them."""
    step = max(1, -(-largest // 8))
    return list(range(0, largest + step + 1, step))


def _chart_svg(
    kind: str, chart_id: str, title: str, colours: Sequence[str], fill: Callable[[Any], None], height: int = 360
) -> str:
    """An inline SVG chart of pygal's `kind`: no script, no XML declaration, no comment, a fixed id, so the
    same data draws the same bytes."""
    import pygal
    from pygal.style import Style

    style = Style(
        background="transparent",
        plot_background="transparent",
        font_family='system-ui, "DejaVu Sans", sans-serif',
        colors=tuple(colours),
        opacity=".9",
        opacity_hover="1",
        title_font_size=16,
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
    )
    chart = getattr(pygal, kind)(
        js=[], disable_xml_declaration=True, style=style, title=title, width=900, height=height, legend_at_bottom=True,
        truncate_legend=40, truncate_label=30,
    )  # fmt: skip
    chart.uuid = chart_id
    chart.add_xml_filter(_static)
    fill(chart)
    svg: str = chart.render(is_unicode=True)
    return svg


def _static(root: Any) -> Any:
    """The drawing alone: no comments (they carry the day it was drawn) and no script (pygal's settings
    for its tooltip script, which the page does not load and its policy would refuse)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def status_chart(summary: Sequence[Mapping[str, Any]]) -> str:
    """Each certification's learners by status, one stacked bar each (the first certification on top)."""
    ordered = list(reversed(summary))

    def fill(chart: Any) -> None:
        chart.x_labels = [printable(item["certification"]) for item in ordered]
        chart.y_labels = _whole_steps(max((item["learners"] for item in ordered), default=0))
        for status in rules.STATUSES:
            chart.add(status, [item["by_status"][status] for item in ordered])

    height = max(220, 140 + 36 * len(ordered))
    colours = list(STATUS_COLOURS.values())
    return _chart_svg("HorizontalStackedBar", "status-chart", "Learners by status", colours, fill, height)


def expiry_chart(expiries: Mapping[str, list[int]], starts: Sequence[date]) -> str:
    """Completions ending in each coming month, stacked by certification."""

    def fill(chart: Any) -> None:
        chart.x_labels = [f"{start:%b} {format_date(start)[:4]}" for start in starts]
        chart.y_labels = _whole_steps(max((sum(month) for month in zip(*expiries.values(), strict=True)), default=0))
        for cert_id, counts in expiries.items():
            chart.add(printable(cert_id), counts)

    return _chart_svg("StackedBar", "expiry-chart", "Completions ending, by month", CHART_COLOURS, fill)


# ---------------------------------------------------------------- the page's parts


def _cell(value: object, field: str | None = None, sort_value: object = None, number: bool = False) -> str:
    """A table cell: `field` names the number it shows (`data-field`), `sort_value` what sorting uses."""
    attributes = [NUMBER_CLASS] if number else []
    if field is not None:
        attributes.append(f' data-field="{text(field)}"')
    if sort_value is not None:
        attributes.append(f' data-value="{text(sort_value)}"')
    return f"<td{''.join(attributes)}>{value}</td>"


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}\u202f%"


def _status_badge(status: str) -> str:
    return f'<span class="status status-{text(status)}">{text(status.replace("_", " "))}</span>'


def totals(summary: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The summaries added up: learners, completed, overdue and expiring over every certification."""
    return {
        "learners": sum(item["learners"] for item in summary),
        "completed": sum(item["by_status"][rules.COMPLETED] for item in summary),
        "overdue": sum(item["overdue"] for item in summary),
        "expiring": sum(item["expiring"] for item in summary),
    }


def _tiles(summary: Sequence[Mapping[str, Any]], expiring_days: int) -> str:
    labels = {
        "learners": "enrolments",
        "completed": "completed",
        "overdue": "overdue",
        "expiring": f"expiring within {expiring_days} days",
    }
    items = "".join(
        f'<li><strong data-total="{name}">{count}</strong>{text(labels[name])}</li>'
        for name, count in totals(summary).items()
    )
    return f'<ul class="tiles">{items}</ul>'


def _summary_row(item: Mapping[str, Any]) -> str:
    rate = item["completion_rate"]
    bar = f'<span class="bar"><span style="width:{min(max(rate, 0.0), 1.0) * 100:.1f}%"></span></span>'
    cells = [
        f'<td>{text(item["title"])} <span class="id">{text(item["certification"])}</span></td>',
        _cell(item["learners"], "learners", number=True),
        f'<td class="number" data-field="completion_rate" data-value="{rate}">'
        f'<span class="rate">{_percent(rate)}{bar}</span></td>',
        *(_cell(item["by_status"][status], f"by_status.{status}", number=True) for status in rules.STATUSES),
        _cell(item["overdue"], "overdue", number=True),
        _cell(item["expiring"], "expiring", number=True),
    ]
    return f'<tr data-cert="{text(item["certification"])}">{"".join(cells)}</tr>'


def summary_table(summary: Sequence[Mapping[str, Any]], expiring_days: int) -> str:
    if not summary:
        return '<p class="note">No certification to report on.</p>'
    headers = [
        "<th>Certification</th>",
        '<th class="number">Learners</th>',
        '<th class="number">Completion</th>',
        *(f'<th class="number">{_status_badge(status)}</th>' for status in rules.STATUSES),
        '<th class="number">Overdue</th>',
        f'<th class="number" title="ending within {expiring_days} days">Expiring soon</th>',
    ]
    body = "".join(_summary_row(item) for item in summary)
    table = f'<table id="summary"><thead><tr>{"".join(headers)}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="wide">{table}</div>'


LEARNER_COLUMNS = (  # header, sort type
    ("Learner", "text"),
    ("Certification", "text"),
    ("Status", "text"),
    ("Due", "text"),
    ("Completed on", "text"),
    ("Valid until", "text"),
    ("Days left", "number"),
    ("Cycle", "number"),
)


def _learner_row(row: Mapping[str, Any], expiring_days: int) -> str:
    days_left = row["days_left"]
    expiring = row["status"] == rules.COMPLETED and days_left is not None and 0 <= days_left <= expiring_days
    marks = ["overdue"] if row["overdue"] else (["expiring"] if expiring else [])
    learner = f'{text(row["name"])} <span class="id">{text(row["user"])}</span>'
    if not row["active"]:
        learner += ' <span class="id">(deactivated)</span>'
    status = _status_badge(row["status"]) + (" overdue" if row["overdue"] else "")
    cells = [
        _cell(learner, sort_value=row["name"]),
        _cell(
            f'<span title="{text(row["title"])}">{text(row["certification"])}</span>',
            sort_value=row["certification"],
        ),
        _cell(status, sort_value=row["status"]),
        *(_cell(text(row[key] or "–"), sort_value=row[key] or "") for key in ("due", "completed_on", "valid_until")),
        _cell("–" if days_left is None else days_left, sort_value="" if days_left is None else days_left, number=True),
        _cell(row["cycle"], sort_value=row["cycle"], number=True),
    ]
    classes = f' class="{" ".join(marks)}"' if marks else ""
    return f'<tr{classes} data-user="{text(row["user"])}">{"".join(cells)}</tr>'


def learners_table(rows: Sequence[Mapping[str, Any]], expiring_days: int) -> str:
    """Every row, sortable by any column: a button in each header (the page's one script sorts)."""
    if not rows:
        return '<p class="note">No learner in this report.</p>'
    headers = "".join(
        f'<th data-type="{kind}"{NUMBER_CLASS if kind == "number" else ""}><button type="button">{name}</button></th>'
        for name, kind in LEARNER_COLUMNS
    )
    body = "".join(_learner_row(row, expiring_days) for row in rows)
    table = f'<table id="learners" class="sortable"><thead><tr>{headers}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="wide">{table}</div>'


def _charts(summary: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]], today: date) -> str:
    if not summary:
        return ""
    starts = month_starts(today)
    expiries = expiries_by_month(rows, today)
    months = f"{len(starts)} months" if len(starts) > 1 else "month"
    if expiries:
        expiring = f'<figure class="chart" id="expiries">{expiry_chart(expiries, starts)}</figure>'
    else:
        expiring = f'<p class="note" id="expiries">No completion ends in the next {months}.</p>'
    return (
        f'<h2>Status by certification</h2><figure class="chart" id="statuses">{status_chart(summary)}</figure>'
        f"<h2>Completions ending in the next {months}</h2>{expiring}"
    )


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def content_security_policy() -> str:
    """Nothing from anywhere: the page's own styles, and of scripts only the sorting one (by its hash)."""
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src '{_script_hash(SORT_SCRIPT)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def render_report_page(
    summary: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
    org: str,
    as_of: datetime,
    expiring_days: int,
) -> str:
    """The page: totals, the summary per certification, the charts, then every learner's row."""
    heading = f"{org}: compliance report" if org else "Compliance report"
    when = f"{format_date(as_of.date())} {as_of:%H:%M %Z}".strip()
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="certcli">
<title>{text(heading)}</title>
<link rel="icon" href="data:,">
<style>{STYLE}{STATUS_STYLE}</style>
</head>
<body>
<header>
<h1>{text(heading)}</h1>
<p class="meta">As of <time datetime="{text(format_time(as_of))}" id="as-of">{text(when)}</time>.
Expiring soon: a completion that ends within {expiring_days} days.</p>
</header>
<main>
{_tiles(summary, expiring_days)}
<h2>Certifications</h2>
{summary_table(summary, expiring_days)}
{_charts(summary, rows, as_of.date())}
<h2>Learners</h2>
<p class="note">Click a column's heading to sort by it; again to reverse.</p>
{learners_table(rows, expiring_days)}
</main>
<script>{SORT_SCRIPT}</script>
</body>
</html>
"""
