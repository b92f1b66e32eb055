"""A small store with a known story, built with the use cases, for the badge and calendar tests.

People: root (admin), mia (manager of ben and eve), ben, eve and dan (learners; dan has no
e-mail address and no manager). Courses c1, c2, c3. Certifications:

- basics: internal, perpetual; c1 and c2 mandatory of c1..c3
- sec: internal, every 12 months; c1; due 30 days after enrolment; renewal window 30 days
- aws: external, every 24 months, issued by Amazon Web Services; no overview, no courses
- cpr: external, perpetual; c3 mandatory; an https badge image

What happened (all in 2026), and so the state on NOW (2026-02-01):

- ben: aws proof uploaded 01-05, approved by mia 01-06 → completed, valid until 2028-01-06;
  basics c1 01-10, c2 01-20 → completed 01-20, perpetual; sec c1 01-15 → completed, valid until 2027-01-15
- dan: cpr c3 01-03, proof 01-04, approved by root 01-08 → completed, perpetual;
  sec untouched → enrolled, due 2026-01-31, overdue
- eve: sec c1 01-12, revoked by root 01-25 → revoked; basics untouched → enrolled, due 2026-03-01
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from certcli import usecases
from certcli.model import AuditEntry
from certcli.store import Store, open_store

NOW = "2026-02-01"
ORG_URL = "https://acme.example"
BEN_EMAIL = " Ben.Carter@Acme.Example "
PROOF_BYTES = b"%PDF-1.4\n%%EOF\n"


def at(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def context(store: Store, actor: str, when: str) -> usecases.Context:
    return usecases.Context(store=store, actor_id=actor, now=at(when))


def set_org_url(path: Path, url: str, when: str = "2026-01-01") -> None:
    """Give the store's organisation a web address, as an audited change by root."""
    with open_store(path).update() as doc:
        doc.org_url = url
        doc.pending_audit = AuditEntry(at(when), "root", "org set", {}, {"url": url})


def _define(store: Store) -> None:
    admin = context(store, "root", "2026-01-01")
    usecases.add_user(admin, "mia", "Mia Lindqvist", "manager", "mia@acme.example", None)
    usecases.add_user(admin, "ben", "Ben Carter", "learner", BEN_EMAIL, "mia")
    usecases.add_user(admin, "eve", "Eve Adams", "learner", "eve@acme.example", "mia")
    usecases.add_user(admin, "dan", "Dan Brown", "learner", None, None)
    for course in ("c1", "c2", "c3"):
        usecases.add_course(admin, course, f"Course {course.upper()}", 30)
    definitions = [
        usecases.Definition(
            "basics",
            "Basics",
            "internal",
            overview="The basics of working here.",
            courses=("c1", "c2", "c3"),
            mandatory=("c1", "c2"),
        ),
        usecases.Definition(
            "sec",
            "Security Awareness",
            "internal",
            issuer="Acme IT",
            recurring=12,
            deadline_days=30,
            renewal_window=30,
            courses=("c1",),
        ),
        usecases.Definition("aws", "AWS Architect", "external", issuer="Amazon Web Services", recurring=24),
        usecases.Definition(
            "cpr",
            "CPR",
            "external",
            overview="Cardiopulmonary resuscitation.",
            courses=("c3",),
            badge="https://acme.example/badges/cpr.png",
        ),
    ]
    for spec in definitions:
        usecases.define(admin, spec, replace=False)
    usecases.assign(admin, "basics", ["ben", "eve"], at("2026-03-01").date())
    usecases.assign(admin, "sec", ["ben", "dan", "eve"], None)
    usecases.assign(admin, "aws", ["ben"], None)
    usecases.assign(admin, "cpr", ["dan"], None)


def _happen(store: Store, proof: Path) -> None:
    usecases.complete(context(store, "dan", "2026-01-03"), "cpr", "c3")
    usecases.upload_proof(context(store, "dan", "2026-01-04"), "cpr", proof)
    usecases.upload_proof(context(store, "ben", "2026-01-05"), "aws", proof)
    usecases.review(context(store, "mia", "2026-01-06"), "aws", "ben", "approved")
    usecases.review(context(store, "root", "2026-01-08"), "cpr", "dan", "approved")
    usecases.complete(context(store, "ben", "2026-01-10"), "basics", "c1")
    usecases.complete(context(store, "eve", "2026-01-12"), "sec", "c1")
    usecases.complete(context(store, "ben", "2026-01-15"), "sec", "c1")
    usecases.complete(context(store, "ben", "2026-01-20"), "basics", "c2")
    usecases.revoke(context(store, "root", "2026-01-25"), "sec", "eve", "withdrawn")


def build(folder: Path, org_url: str | None = ORG_URL) -> Path:
    """The story's store in `folder` (TOML), with `org_url` set unless None."""
    path = folder / "story.toml"
    store = open_store(path)
    usecases.init_store(store, "root", "Rosa Okafor", "Acme Corp", at("2026-01-01"))
    if org_url is not None:
        set_org_url(path, org_url)
    _define(store)
    proof = folder / "certificate.pdf"
    proof.write_bytes(PROOF_BYTES)
    _happen(store, proof)
    return path


def copy(template: Path, folder: Path) -> Path:
    """A private copy of a built store with its audit log and proofs."""
    target = folder / template.name
    shutil.copyfile(template, target)
    shutil.copyfile(f"{template}.audit.jsonl", f"{target}.audit.jsonl")
    proofs = template.with_name(template.stem + ".proofs")
    if proofs.exists():
        shutil.copytree(proofs, target.with_name(target.stem + ".proofs"))
    return target
