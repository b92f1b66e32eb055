"""`certcli export-xapi --lrs URL`: the statements `export-xapi` prints, sent to a learning record store.

Whose statements and which: exactly as `export_statements` chooses them. How they travel (batches,
retries, statements the LRS holds already): `certcli.lrs`. The credentials come in as given
(CERTCLI_LRS_AUTH) and go out only in the Authorization header: never in a message, an error or a result.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from certcli import lrs
from certcli.errors import DataError
from certcli.usecases.exports import export_statements
from certcli.usecases.kernel import Context, Outcome

if TYPE_CHECKING:
    from certcli.usecases.shapes import LrsDelivery, LrsProblem

PROBLEMS_SHOWN = 10  # lines of problems in the error; the JSON result lists them all
REFUSED_CREDENTIALS = (401, 403)


def send_statements(
    ctx: Context,
    lrs_url: str,
    credentials: str | None,
    user_id: str | None = None,
    cert_id: str | None = None,
    since: date | None = None,
) -> Outcome[LrsDelivery]:
    """Send the statements `export_statements` gives to the LRS whose xAPI endpoint is `lrs_url`, with
    HTTP Basic `credentials` (USER:PASSWORD) when given; what became of them is the result, not an error."""
    resource = lrs.statements_resource(lrs_url)
    authorization = lrs.basic_authorization(credentials) if credentials else None
    statements = export_statements(ctx, user_id, cert_id, since).data
    delivery = lrs.send(statements, resource, authorization)
    problems: list[LrsProblem] = [
        {"statements": problem.ids, "status": problem.status, "reason": problem.reason}
        for problem in delivery.problems
    ]
    data: LrsDelivery = {
        "lrs": resource,
        "statements": delivery.total,
        "sent": delivery.sent,
        "already_there": delivery.already_there,
        "failed": delivery.failed,
        "problems": problems,
    }
    message = (
        f"{delivery.total} xAPI statement(s) for {resource}: {delivery.sent} sent, "
        f"{delivery.already_there} already there, {delivery.failed} failed."
    )
    return Outcome(data, [message])


def delivery_failure(data: LrsDelivery) -> DataError | None:
    """The error (exit 6) a delivery with failed statements ends in, naming each problem; None when none failed."""
    if not data["failed"]:
        return None
    lines = [f"{data['failed']} of {data['statements']} statement(s) did not reach {data['lrs']}"]
    lines += [_problem_line(problem) for problem in data["problems"][:PROBLEMS_SHOWN]]
    if len(data["problems"]) > PROBLEMS_SHOWN:
        lines.append(f"... and {len(data['problems']) - PROBLEMS_SHOWN} more problem(s): --json lists them all")
    if any(problem["status"] in REFUSED_CREDENTIALS for problem in data["problems"]):
        hint = "set CERTCLI_LRS_AUTH to USER:PASSWORD of an LRS account that may write statements"
    else:
        hint = "correct what the LRS said, then run the same command again: statements it holds are not sent twice"
    return DataError("\n".join(lines), hint=hint)


def _problem_line(problem: LrsProblem) -> str:
    ids = problem["statements"]
    which = f"statement {ids[0]}" if len(ids) == 1 else f"{len(ids)} statements ({ids[0]} ... {ids[-1]})"
    return f"{which}: {problem['reason']}"
