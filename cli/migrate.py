"""`newsdesk migrate`: move an existing SQLite data dir's state into PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.output import JSON_OPTION, console, emit, friendly_errors, state


def migrate(
    ctx: typer.Context,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="The data dir whose SQLite files to copy (default: NEWSDESK_DATA_DIR).", metavar="DIR"
        ),
    ] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Copy records, feeds, feedback and bot settings from the SQLite files into DATABASE_URL's PostgreSQL.

    Safe to run again: rows already in the database are kept, only missing ones are added. Vectors stay in Chroma;
    serve the data dir's chroma folder with `chroma run` (README, Deployment) for other hosts to use it.
    """
    from retrieval.state.copy import copy_sqlite_state

    settings = state(ctx).settings
    with friendly_errors(as_json):
        report = copy_sqlite_state(settings, source or settings.data_dir)
    added = sum(t["added"] for t in report.tables.values())

    def render() -> None:
        console.print(f"Copied the state in {report.source} into the database: {added} rows added.", markup=False)
        for name, counts in report.tables.items():
            console.print(f"  {name}: {counts['read']} read, {counts['added']} added", markup=False)
        if report.missing:
            console.print(f"  not found (nothing to copy): {', '.join(report.missing)}", markup=False)

    emit({**report.to_dict(), "added": added}, as_json, render)
