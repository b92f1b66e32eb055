"""Shell completion of the installed command: command names, choices and the ids of the store complete."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def complete_at(certcli_exe: str, words: list[str]) -> list[str]:
    """What completes the last of `words` (an empty one: a new word after a space)."""
    env = dict(os.environ, _CERTCLI_COMPLETE="complete_bash", COMP_WORDS=" ".join(words))
    env["COMP_CWORD"] = str(len(words) - 1)
    result = subprocess.run([certcli_exe], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def complete(certcli_exe: str, words: str) -> list[str]:
    return complete_at(certcli_exe, words.split())


def test_command_names_complete(certcli_exe: str) -> None:
    assert complete(certcli_exe, "certcli up") == ["upload-proof"]
    assert set(complete(certcli_exe, "certcli rev")) == {"review", "revoke"}


def test_sort_keys_complete(certcli_exe: str) -> None:
    assert complete(certcli_exe, "certcli sort p") == ["published"]


def test_the_completion_script_is_printed_for_bash(certcli_exe: str) -> None:
    result = subprocess.run([certcli_exe, "--show-completion", "bash"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "_CERTCLI_COMPLETE=complete_bash" in result.stdout


def test_assign_completes_learners_after_the_certification(certcli_exe: str, demo_store: Path) -> None:
    start = ["certcli", "--store", str(demo_store), "--as", "root", "assign", "security-awareness"]

    assert {"ana", "ben", "hana"} <= set(complete_at(certcli_exe, [*start, ""]))
    assert complete_at(certcli_exe, [*start, "ana", "b"]) == ["ben"]
    assert complete_at(certcli_exe, [*start, "--team", "o"]) == ["omar"]


def test_user_commands_complete_the_user(certcli_exe: str, demo_store: Path) -> None:
    for command in (["user", "set"], ["user", "deactivate"], ["user", "reactivate"]):
        words = ["certcli", "--store", str(demo_store), "--as", "root", *command, "fa"]
        assert complete_at(certcli_exe, words) == ["fatima"], command
