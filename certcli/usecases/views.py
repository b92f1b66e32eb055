"""The results several commands share, built from the rules' view: a certification's list item,
its progress, its page, a proof, a user, a course (their shapes are in `certcli.usecases.shapes`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from certcli import rules
from certcli.dates import format_date
from certcli.model import Certification, Course, Document, User

if TYPE_CHECKING:
    from certcli.usecases.shapes import CourseData, ListItem, Page, Progress, ProofData, UserData


def list_item(cert: Certification, view: rules.EnrollmentView | None, learner: User) -> ListItem:
    return {
        "id": cert.id,
        "title": cert.title,
        "kind": cert.kind,
        "type": "recurring" if cert.recurring else "perpetual",
        "status": view.status if view else None,
        "overdue": view.overdue if view else False,
        "published": format_date(cert.published),
        "due": format_date(view.due) if view else None,
        "completed_on": format_date(view.completed_on) if view else None,
        "valid_until": format_date(view.valid_until) if view else None,
        "courses_done": view.courses_done if view else 0,
        "courses_required": view.courses_required if view else len(rules.effective_requirements(cert).mandatory_ids),
        "next_course": view.next_course if view else None,
        "next_step": rules.next_step(view, cert) if view else None,
        "renewal_open": view.renewal_open if view else False,
        "cycle": view.cycle if view else None,
        "user": learner.id,
    }


def proof_data(state: rules.ProofState | None) -> ProofData | None:
    if state is None:
        return None
    return {
        "sha256": state.proof.sha256,
        "size": state.proof.size,
        "filename": state.proof.filename,
        "submitted_on": format_date(state.submitted_at.date()),
        "completed_on": format_date(state.proof.completed_on),
        "review": state.review,
        "reason": state.reason,
    }


def progress(cert: Certification, view: rules.EnrollmentView, learner: User) -> Progress:
    """The list item, its queue and its proof."""
    return {**list_item(cert, view, learner), "queue": list(view.queue), "proof": proof_data(view.proof)}


def page(doc: Document, cert: Certification, view: rules.EnrollmentView | None, learner: User) -> Page:
    """The certification page: the list item plus the details (`view` None: not enrolled)."""
    if view is not None:
        courses = [(c.id, c.mandatory, c.status, c.completed_on) for c in view.courses]
    else:
        courses = [(r.id, r.mandatory, rules.NOT_STARTED, None) for r in rules.effective_requirements(cert).courses]
    return {
        **list_item(cert, view, learner),
        "overview": cert.overview,
        "issuer": cert.issuer,
        "badge": cert.badge,
        "validity_months": cert.validity_months,
        "renew_from": cert.renew_from if cert.recurring else None,
        "renewal_window_days": cert.renewal_window_days,
        "deadline_days": cert.deadline_days,
        "ordered": cert.ordered,
        "self_enroll": cert.self_enroll,
        "completion_date": cert.completion_date if cert.kind == "external" else None,
        "retired": cert.retired,
        "enrolled_on": format_date(view.enrolled_on) if view else None,
        "courses": [
            {
                "id": course_id,
                "title": doc.courses[course_id].title if course_id in doc.courses else course_id,
                "mandatory": mandatory,
                "status": status,
                "completed_on": format_date(done_on),
            }
            for course_id, mandatory, status, done_on in courses
        ],
        "queue": list(view.queue) if view else [],
        "proof": proof_data(view.proof) if view else None,
    }


def user_data(found: User) -> UserData:
    return {
        "id": found.id,
        "name": found.name,
        "role": found.role,
        "email": found.email,
        "manager": found.manager,
        "active": found.active,
        "login": found.login,
    }


def course_data(found: Course) -> CourseData:
    return {"id": found.id, "title": found.title, "minutes": found.minutes}
