"""The `doudi` command: a thin root that gathers one click group per feature."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """Doudi (兜底): the chatbot front door of the 办不成事 window."""


def _register() -> None:
    # Each feature owns its commands in a module of its own; the root only lists them.
    from bot.cli import backup, cases, chat, db, purge, serve, staff

    for module in (serve, chat, db, cases, staff, purge):
        main.add_command(module.command)
    main.add_command(backup.backup)
    main.add_command(backup.restore)


_register()
