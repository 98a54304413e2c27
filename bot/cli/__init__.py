"""The `doudi` command: a thin root that gathers one click group per feature."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """Doudi (兜底): the chatbot front door of the 办不成事 window."""


def _register() -> None:
    # Each feature owns its commands in a module of its own; the root only lists them.
    from bot.cli import cases, chat, db, serve, staff

    for module in (serve, chat, db, cases, staff):
        main.add_command(module.command)


_register()
