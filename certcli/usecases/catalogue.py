"""What there is to take: `catalog` (the certifications relevant to the acting user) and `course list`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from certcli import access, rules
from certcli.dates import format_date, parse_date
from certcli.errors import UsageError
from certcli.model import Certification, Document, User
from certcli.store import Need
from certcli.usecases.kernel import Context, Outcome, actor, ids

if TYPE_CHECKING:
    from certcli.usecases.shapes import CatalogItem, CourseItem

CATALOG_SORT_KEYS = ("relevance", "published", "name")


def catalog(ctx: Context, include_retired: bool = False, sort: str = "relevance") -> Outcome[list[CatalogItem]]:
    """For a learner: the certifications they are enrolled in and those they may enrol in themselves;
    for an admin or a manager: every certification. Retired ones only with `include_retired` (a
    learner's own enrollments always). Staff also see how many learners in their reports are enrolled."""
    if sort not in CATALOG_SORT_KEYS:
        raise UsageError(f"unknown sort key {sort!r}", hint=f"use one of: {', '.join(CATALOG_SORT_KEYS)}")
    need = Need(
        users=ids(ctx.actor_id),
        all_certifications=True,
        enrollments_of_users=ids(ctx.actor_id),
        reports_of=ctx.actor_id,
    )
    doc = ctx.store.read(need)
    acting = actor(ctx, doc)
    staff = access.is_staff(acting)
    enrolled = _enrolled_counts(ctx, doc, acting) if staff else None
    items = []
    for cert in doc.certifications.values():
        mine = doc.enrollment(cert.id, acting.id)
        view = rules.evaluate(mine, cert, ctx.now) if mine is not None else None
        if not _relevant(cert, view is not None, staff, include_retired):
            continue
        items.append(_item(cert, view, enrolled))
    return Outcome(sorted(items, key=lambda item: _sort_key(sort, item)))


def _relevant(cert: Certification, enrolled: bool, staff: bool, include_retired: bool) -> bool:
    if cert.retired and not include_retired:
        return enrolled and not staff
    return staff or enrolled or cert.self_enroll


def _enrolled_counts(ctx: Context, doc: Document, acting: User) -> dict[str, int]:
    """Learners enrolled in each certification as of now, among those in the actor's reports."""
    learners = None if access.is_admin(acting) else [u.id for u in doc.users.values() if access.in_report_of(acting, u)]
    counts = ctx.store.standing_counts(doc, ctx.now, None, learners, ctx.now.date())
    enrolled: dict[str, int] = {}
    for (cert_id, _, _, _), count in counts.items():
        enrolled[cert_id] = enrolled.get(cert_id, 0) + count
    return enrolled


def _item(cert: Certification, view: rules.EnrollmentView | None, enrolled: dict[str, int] | None) -> CatalogItem:
    return {
        "id": cert.id,
        "title": cert.title,
        "kind": cert.kind,
        "type": "recurring" if cert.recurring else "perpetual",
        "published": format_date(cert.published),
        "self_enroll": cert.self_enroll,
        "retired": cert.retired,
        "courses_required": len(rules.effective_requirements(cert).mandatory_ids),
        "status": view.status if view else None,
        "overdue": view.overdue if view else False,
        "enrolled": enrolled.get(cert.id, 0) if enrolled is not None else None,
    }


def _sort_key(key: str, item: CatalogItem) -> tuple[object, ...]:
    """Relevance: the actor's own certifications first (as `list` orders them), then the others,
    newest first; published: newest first; name: by title."""
    published = parse_date(item["published"]) if item["published"] else None
    sortable = rules.SortableItem(item["id"], item["title"], published, item["status"] or "", item["overdue"], None)
    if key == "relevance":
        if item["status"] is None:
            return (1, rules.sort_key("published", sortable))
        return (0, rules.sort_key("relevance", sortable))
    return rules.sort_key(key, sortable)


def list_courses(ctx: Context) -> Outcome[list[CourseItem]]:
    """Every course, with the certifications whose definitions use it (admin, manager)."""
    doc = ctx.store.read(Need(users=ids(ctx.actor_id), all_certifications=True, all_courses=True))
    actor(ctx, doc, *access.STAFF)
    used_by: dict[str, list[str]] = {course_id: [] for course_id in doc.courses}
    for cert in doc.certifications.values():
        for ref in cert.courses:
            used_by.setdefault(ref.id, []).append(cert.id)
    items: list[CourseItem] = [
        {
            "id": course.id,
            "title": course.title,
            "minutes": course.minutes,
            "retired": course.retired,
            "used_by": used_by[course.id],
        }
        for course in doc.courses.values()
    ]
    return Outcome(items)
