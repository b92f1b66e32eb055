"""What a text field may hold (docs/stores.md, "Values"): one rule per kind of field, applied by
every way in (commands, imports, `apply`) and by every load, so no command writes what certcli
then refuses to read.

A value a person gives now must also be on one line: a line break in a name or an address would
end up in a mail header. A store written by an older certcli may hold one; it still loads, and
mail encodes such a value on one line (`one_line`).
"""

from __future__ import annotations

MAX_NAME = 200  # names and titles: what a table column, a badge and a mail subject can show
MAX_ADDRESS = 254  # the longest e-mail address SMTP carries (RFC 5321)
MAX_LOGIN = 64



class TextRule:
    """How one kind of text field is checked. (A plain class: a named tuple's definition would cost
    start-up time every command pays.)"""

    __slots__ = ("what", "required", "max_length", "address", "spaces")

    def __init__(
        self, what: str, required: bool = False, max_length: int = MAX_NAME, address: bool = False, spaces: bool = True
    ) -> None:
        self.what = what  # what to write instead, for a hint
        self.required = required  # must hold more than blanks
        self.max_length = max_length
        self.address = address  # must hold an e-mail address (with a display name or not)
        self.spaces = spaces  # may hold spaces within (an address or a login name may not)


# Users' and groups' names, courses' and certifications' titles.
NAME = TextRule("a name of 1 to 200 characters", required=True)
ORG_NAME = TextRule("a name of at most 200 characters")
EMAIL = TextRule("an e-mail address such as ana@acme.example", max_length=MAX_ADDRESS, address=True, spaces=False)
# With a display name or not: "Certcli <certcli@acme.example>".
MAIL_FROM = TextRule("an e-mail address such as certcli@acme.example", max_length=MAX_NAME + MAX_ADDRESS, address=True)
LOGIN = TextRule("a login name without spaces", max_length=MAX_LOGIN, spaces=False)


def text_problem(value: str, rule: TextRule, typed: bool = True) -> str | None:
    """What is wrong with `value` as a field following `rule`, in words ("is blank"), or None.
    `typed`: a value given now, which must also be on one line; else one a store holds."""
    if rule.required and not value.strip():
        return "is blank"
    if len(value) > rule.max_length:
        return f"is longer than {rule.max_length} characters"
    if (typed or rule.address or not rule.spaces) and not value.isprintable():
        return "holds a line break or another control character"
    if not rule.spaces and any(ch.isspace() for ch in value.strip()):  # blanks around it are trimmed where used
        return "holds a space"
    if rule.address and value and not _holds_address(value):
        return "is not an e-mail address"
    return None


def _holds_address(value: str) -> bool:
    """Whether a word of `value` (words end at blanks and angle brackets) is NAME@DOMAIN; the mail
    server judges the rest. (String tests: a pattern compiled at import costs every command.)"""
    for word in value.replace("<", " ").replace(">", " ").split():
        local, at, domain = word.partition("@")
        if at and local and domain and not domain.startswith("@"):
            return True
    return False


def one_line(value: str) -> str:
    """`value` with every line break and control character made a space: what a mail header shows
    of a value an older store holds."""
    if value.isprintable():
        return value
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
