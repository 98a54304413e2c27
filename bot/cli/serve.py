"""`doudi serve`: the HTTP server WeChat talks to."""

from __future__ import annotations

import logging

import click

from bot.config import Settings
from bot.logs import configure_logging

log = logging.getLogger("doudi")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes on the same port (PostgreSQL only; SQLite runs one).",
)
def command(host: str, port: int, workers: int) -> None:
    """Serve the webhook (/wechat), health check, metrics and console."""
    configure_logging()
    settings = Settings.from_env()
    from storage.backends import backend_for

    if workers > 1 and not backend_for(settings.database_url).supports_many_workers:
        log.warning(
            "--workers %d: this database (SQLite) has a single writer, serialised inside one "
            "process; serving with one worker. Use PostgreSQL for several.",
            workers,
        )
        workers = 1
    from bot.preflight import EXIT_UNUSABLE_DATABASE, Unusable, prepare

    try:
        prepare(settings.database_url)  # SQLite: writable? then migrate itself
    except Unusable as error:
        click.echo(f"doudi: cannot start: {error}", err=True)
        raise SystemExit(EXIT_UNUSABLE_DATABASE) from None
    if settings.using_development_token:
        banner = "!" * 72
        log.warning(
            "\n%s\n  DOUDI_WECHAT_TOKEN is not set: using the DEVELOPMENT token.\n"
            "  Anyone who knows it can post to this server. Never run it like this\n"
            "  where WeChat (or the internet) can reach it.\n%s",
            banner,
            banner,
        )
    click.echo(
        f"Doudi serving on http://{host}:{port}/wechat  (health: /healthz, metrics: /metrics)"
        + (f" with {workers} workers" if workers > 1 else "")
    )
    click.echo(
        f"Chat with it from another terminal:  .venv/bin/doudi chat --url http://{host}:{port}/wechat"
    )
    if workers > 1:
        from bot.prefork import run_workers

        raise SystemExit(run_workers(settings, host, port, workers))
    from bot.app import build_app
    from bot.loop import serve

    serve(build_app(settings), host, port)
