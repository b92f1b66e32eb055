"""The identifiers exported records share, all under the organisation's https address."""

from __future__ import annotations


def base_url(org_url: str) -> str:
    """The organisation's address without a trailing slash (a hand-edited store may hold one)."""
    return org_url.rstrip("/")


def certification_url(org_url: str, cert_id: str) -> str:
    """A certification's identifier: its badges' achievement and its xAPI activity."""
    return f"{base_url(org_url)}/certcli/certifications/{cert_id}"


def course_url(org_url: str, course_id: str) -> str:
    """A course's identifier: its xAPI activity."""
    return f"{base_url(org_url)}/certcli/courses/{course_id}"
