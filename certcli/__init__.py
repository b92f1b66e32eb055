"""certcli: a command-line certification manager."""

__version__ = "0.1.0"
