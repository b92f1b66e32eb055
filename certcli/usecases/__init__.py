"""The application layer: one public function per command, grouped by area.

    kernel           Context, Outcome; loading, who acts, lookups, recording facts, naming the change
    shapes           the JSON shapes several commands share
    directory        init, user add/list, course add, org show/set
    programme        define, assign
    learning         list/sort, show, start, complete
    reviews          upload-proof, review, approve/reject
    recertification  revoke, history, explain
    audit_trail      audit, audit verify
    compliance       report, check
    exports          export-xapi, badge, calendar       lrs_delivery  export-xapi --lrs
    reminders        remind
    catalogue        catalog, course list               groups        group ...
    as_code          apply, export
    imports          import (CSV)
    completion       ids for shell completion
    doctor, migration

Every name below is also reachable as `certcli.usecases.NAME` (`doctor` as `usecases.doctor.doctor`,
the module taking its name); each area module is imported only when one of its names is first used,
so a command loads just its own.
"""

from __future__ import annotations

import importlib
from typing import Any

_AREAS = {
    "kernel": ("Context", "Outcome"),
    "directory": (
        "init_store", "add_user", "set_user", "deactivate_user", "reactivate_user", "list_users", "add_course",
        "show_org", "set_org", "checked_org_url", "ScheduleChange",
    ),  # fmt: skip
    "programme": ("Definition", "define", "assign"),
    "learning": ("list_certifications", "show", "start", "complete"),
    "reviews": ("upload_proof", "review_queue", "review", "get_proof"),
    "recertification": ("revoke", "history", "explain"),
    "audit_trail": ("audit_events", "audit_verify", "checked_audit_trail"),
    "compliance": ("report", "report_summary", "check", "parse_fail_on", "report_page"),
    "exports": ("export_statements", "badge", "calendar"),
    "lrs_delivery": ("send_statements",),
    "reminders": ("remind", "remind_failure"),
    "catalogue": ("catalog", "list_courses"),
    "groups": ("add_group", "list_groups", "show_group", "change_members", "auto_assign"),
    "as_code": ("apply_file", "export_definitions", "definitions_data"),
    "imports": ("import_csv",),
    "migration": ("migrate",),
    "completion": ("completion_ids",),
}
_HOME = {name: area for area, names in _AREAS.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    area = _HOME.get(name)
    if area is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{area}"), name)
