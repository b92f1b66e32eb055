"""Open Badges 3.0: a completed certification as an `OpenBadgeCredential`.

`build_credential` is pure (model objects in, a JSON-ready dict out); `badge` is the
use case behind `certcli badge`. The credential is unsigned; `jwt_claims` makes it the
payload of the specification's JSON Web Token proof format (§8.2), which `badge --sign` signs.

The learner appears only as a salted SHA-256 hash of their e-mail address (or, with
no address, of their user id): whoever knows the address can check the badge is
theirs, and nobody can read it off the badge. The salt is derived from the
credential's id, so exporting the same badge twice gives the same bytes while no
two badges share a hash.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import date
from typing import Any

from certcli import rules
from certcli.dates import format_date, format_time, midnight, parse_time
from certcli.formats.identifiers import base_url, certification_url
from certcli.model import Certification, Document, User

CONTEXTS = (
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
)
CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")


# ---------------------------------------------------------------- identifiers


def credential_id(org_url: str, user_id: str, cert_id: str, cycle: int) -> str:
    """The same learner, certification and cycle always get the same id; ids never contain '/'."""
    name = f"{base_url(org_url)}/certcli/credentials/{cert_id}/{user_id}/{cycle}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _timestamp(day: date) -> str:
    """Midnight UTC: a completion counts from the start of its day, and validity ends as its last day begins."""
    return format_time(midnight(day))


# ---------------------------------------------------------------- the learner


def identity_hash(identity: str, salt: str) -> str:
    """The spec's IdentityHash: `sha256$` and the hex digest of the identity followed by the salt."""
    return "sha256$" + hashlib.sha256((identity + salt).encode("utf-8")).hexdigest()


def learner_identity(learner: User, credential: str) -> dict[str, Any]:
    """The learner as a hashed IdentityObject: their e-mail address (trimmed, lower case) or their user id."""
    if learner.email and learner.email.strip():
        identity, identity_type = learner.email.strip().lower(), "emailAddress"
    else:
        identity, identity_type = learner.id, "userName"
    salt = uuid.uuid5(uuid.NAMESPACE_URL, f"{credential}#salt").hex
    return {
        "type": "IdentityObject",
        "identityHash": identity_hash(identity, salt),
        "identityType": identity_type,
        "hashed": True,
        "salt": salt,
    }


# ---------------------------------------------------------------- the achievement


def _course_title(doc: Document, course_id: str) -> str:
    course = doc.courses.get(course_id)
    return course.title if course is not None else course_id


def _description(doc: Document, cert: Certification) -> str:
    if cert.overview.strip():
        return cert.overview
    if cert.kind == "internal":
        return f"{cert.title}: earned by completing its courses at {doc.org_name or base_url(doc.org_url)}."
    source = f" issued by {cert.issuer}" if cert.issuer else ""
    return f"{cert.title}: an outside certification{source}, held on approved proof."


def criteria_narrative(doc: Document, cert: Certification) -> str:
    """What earns the certification, in Markdown: its mandatory courses, the proof, the validity."""
    mandatory = rules.effective_requirements(cert).mandatory_ids
    courses = "\n".join(f"- {_course_title(doc, course_id)} ({course_id})" for course_id in mandatory)
    order = " in this order" if cert.ordered and len(mandatory) > 1 else ""
    parts = []
    if cert.kind == "internal":
        parts.append(f"Complete the mandatory courses{order}:\n\n{courses}")
    else:
        if mandatory:
            parts.append(f"Complete the mandatory courses{order}:\n\n{courses}")
        source = f" (issued by {cert.issuer})" if cert.issuer else ""
        parts.append(
            f"Hold {cert.title}{source}: the learner uploads proof of it, and an administrator "
            "or the learner's manager approves it."
        )
    if cert.validity_months is not None:
        parts.append(f"Valid for {cert.validity_months} months, then renewed by completing it again.")
    return "\n\n".join(parts)


def achievement(doc: Document, cert: Certification) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": certification_url(doc.org_url, cert.id),
        "type": ["Achievement"],
        "achievementType": "Certification",
        "name": cert.title,
        "description": _description(doc, cert),
        "criteria": {"narrative": criteria_narrative(doc, cert)},
    }
    if cert.badge.startswith("https://"):  # a local image path identifies nothing outside this store
        data["image"] = {"id": cert.badge, "type": "Image", "caption": cert.title}
    return data


# ---------------------------------------------------------------- evidence


def _proof_uri(sha256_hex: str) -> str:
    """RFC 6920 named-information URI: the file named by its SHA-256, wherever it is kept."""
    digest = base64.urlsafe_b64encode(bytes.fromhex(sha256_hex)).decode("ascii").rstrip("=")
    return f"ni:///sha-256;{digest}"


def evidence(doc: Document, held: rules.CycleResult) -> list[dict[str, Any]]:
    """The completed mandatory courses of the cycle that earned the badge, then its approved proof."""
    cycle = held.cycle
    items = []
    for course_id in cycle.requirements.mandatory_ids:
        done_on = cycle.course(course_id).completed_on
        if done_on is None:
            continue
        title = _course_title(doc, course_id)
        items.append(
            {
                "type": ["Evidence"],
                "name": title,
                "narrative": f"Completed {title} ({course_id}) on {format_date(done_on)}.",
                "genre": "Course completion",
            }
        )
    state = cycle.proof
    if state is not None and state.review == "approved":
        reviewed = f" on {format_date(state.reviewed_at.date())}" if state.reviewed_at else ""
        items.append(
            {
                "id": _proof_uri(state.proof.sha256),
                "type": ["Evidence"],
                "name": state.proof.filename,
                "description": f"SHA-256 {state.proof.sha256}, {state.proof.size} bytes",
                "narrative": f"Proof submitted on {format_date(state.submitted_at.date())} and approved{reviewed}.",
                "genre": "Approved proof",
            }
        )
    return items


# ---------------------------------------------------------------- the credential


def build_credential(doc: Document, cert: Certification, learner: User, held: rules.CycleResult) -> dict[str, Any]:
    """The OpenBadgeCredential for `learner`'s completion `held` of `cert`; `doc.org_url` must be set."""
    assert held.completed_on is not None, "only a completed cycle earns a badge"
    identifier = credential_id(doc.org_url, learner.id, cert.id, held.cycle.number)
    issuer = {"id": base_url(doc.org_url), "type": ["Profile"], "name": doc.org_name or base_url(doc.org_url)}
    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": identifier,
        "type": list(CREDENTIAL_TYPES),
        "name": cert.title,
        "issuer": issuer,
        "validFrom": _timestamp(held.completed_on),
    }
    if held.valid_until is not None:
        credential["validUntil"] = _timestamp(held.valid_until)
    credential["credentialSubject"] = {
        "type": ["AchievementSubject"],
        "identifier": [learner_identity(learner, identifier)],
        "achievement": achievement(doc, cert),
    }
    items = evidence(doc, held)
    if items:
        credential["evidence"] = items
    return credential


# ---------------------------------------------------------------- the JSON Web Token proof format


def _epoch(timestamp: str) -> int:
    return int(parse_time(timestamp).timestamp())


def jwt_claims(credential: dict[str, Any]) -> dict[str, Any]:
    """The credential as a JWT payload: itself, with the registered claims the specification maps
    from it (`iss` the issuer's id, `jti` its id, `nbf` and `exp` its validity, as seconds)."""
    claims = {**credential, "iss": credential["issuer"]["id"], "jti": credential["id"]}
    claims["nbf"] = _epoch(credential["validFrom"])
    if "validUntil" in credential:
        claims["exp"] = _epoch(credential["validUntil"])
    return claims


def cycle_of(credential_identifier: str, org_url: str, user_id: str, cert_id: str, cycles: int) -> int | None:
    """Which of the learner's cycles 1..`cycles` of `cert_id` the credential `credential_identifier` is, if any."""
    return next(
        (n for n in range(1, cycles + 1) if credential_id(org_url, user_id, cert_id, n) == credential_identifier), None
    )
