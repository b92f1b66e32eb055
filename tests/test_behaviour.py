"""Behaviour kept: every reading command still prints, for every user and certification of the demo
store, each field recorded in `tests/golden/acme-reading.json` with the same value (see behaviour.py)."""

from __future__ import annotations

import json

from behaviour import GOLDEN, differences, record


def test_every_reading_command_prints_what_it_printed_when_recorded() -> None:
    recorded = json.loads(GOLDEN.read_text())
    now = record()
    assert sorted(now) == sorted(recorded), "the recorded invocations changed: re-record deliberately"
    found = [
        f"{invocation}{difference}"
        for invocation, result in recorded.items()
        for difference in differences(result, now[invocation])
    ]
    assert not found, "\n".join(found[:40]) + f"\n({len(found)} differences)"
