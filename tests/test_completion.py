"""Shell completion of the installed command: command names and choices complete."""

from __future__ import annotations

import os
import subprocess


def complete(certcli_exe: str, words: str) -> list[str]:
    env = dict(os.environ, _CERTCLI_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - 1))
    result = subprocess.run([certcli_exe], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_command_names_complete(certcli_exe: str) -> None:
    assert complete(certcli_exe, "certcli up") == ["upload-proof"]
    assert set(complete(certcli_exe, "certcli rev")) == {"review", "revoke"}


def test_sort_keys_complete(certcli_exe: str) -> None:
    assert complete(certcli_exe, "certcli sort p") == ["published"]


def test_the_completion_script_is_printed_for_bash(certcli_exe: str) -> None:
    result = subprocess.run([certcli_exe, "--show-completion", "bash"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "_CERTCLI_COMPLETE=complete_bash" in result.stdout
