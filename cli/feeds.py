"""`newsdesk feeds add|list|remove` and `newsdesk refresh`: keep a knowledge base current from RSS and Atom feeds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.output import (
    JSON_OPTION,
    KB_OPTION,
    Command,
    Group,
    console,
    emit,
    exit_code,
    friendly_errors,
    open_kb,
    print_report_details,
    state,
)

feeds_app = typer.Typer(cls=Group, help="Follow RSS and Atom feeds.", no_args_is_help=True)


def feed_registry(ctx: typer.Context):
    from retrieval.feeds import FeedRegistry
    from retrieval.state import FEEDS, open_database

    return FeedRegistry(open_database(state(ctx).settings, FEEDS))


def _kb_name(ctx: typer.Context, kb: str | None) -> str:
    from retrieval.store import validate_kb_name

    return validate_kb_name(state(ctx).settings.default_kb if kb is None else kb)


@feeds_app.command("add", cls=Command)
def feeds_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The feed's http(s) address.")],
    every: Annotated[
        str | None, typer.Option("--every", help="How often to refresh it: 30m, 1h (default), 1d; at least 5m.")
    ] = None,
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Follow a feed: it is fetched and parsed once now (title and item count shown), then on every refresh."""
    from retrieval.feeds import EVERY_FLOOR_S, FeedRefresher, parse_every, requested_every
    from retrieval.loaders.url import SafeFetcher

    with friendly_errors(as_json):
        registry = feed_registry(ctx)
        checked = FeedRefresher(registry, SafeFetcher(state(ctx).settings)).check(url)
        feed, existed = registry.add(_kb_name(ctx, kb), url, parse_every(every) if every else None)
    notes = []
    if existed:
        notes.append("already followed" + ("; interval updated" if every else "; nothing changed"))
    if every and requested_every(every) < EVERY_FLOOR_S:
        notes.append(f"interval raised to the {EVERY_FLOOR_S // 60}-minute minimum")
    data = {**feed.to_dict(), "items": checked.items, "already_followed": existed, "notes": notes}

    def render() -> None:
        title = f"“{checked.title}”" if checked.title else url
        console.print(f"Following {title}: {checked.items} items, every {feed.every_s // 60} min.", markup=False)
        for note in notes:
            console.print(f"  note: {note}", markup=False)

    emit(data, as_json, render)


@feeds_app.command("list", cls=Command)
def feeds_list(
    ctx: typer.Context, kb: Annotated[str | None, KB_OPTION] = None, as_json: Annotated[bool, JSON_OPTION] = False
) -> None:
    """The feeds this knowledge base follows, with their last fetch, last error and next due time."""
    with friendly_errors(as_json):
        feeds = feed_registry(ctx).feeds(_kb_name(ctx, kb))

    def render() -> None:
        if not feeds:
            console.print("No feeds yet. Add one with `newsdesk feeds add URL`.")
            return
        table = Table("feed", "every", "last success", "failing items", "last error")
        for f in feeds:
            table.add_row(
                escape(f.title or f.url),
                f"{f.every_s // 60} min",
                f.last_success or "never",
                str(f.failing_items),
                escape(f.last_error or ""),
            )
        console.print(table)

    emit({"feeds": [f.to_dict() for f in feeds]}, as_json, render)


@feeds_app.command("remove", cls=Command)
def feeds_remove(
    ctx: typer.Context,
    feed: Annotated[str, typer.Argument(help="The feed's address, or its title as `feeds list` shows it.")],
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Stop following a feed (its articles stay in the knowledge base)."""
    from retrieval.errors import BadInputError
    from retrieval.matching import Candidate, resolve

    with friendly_errors(as_json):
        registry, name = feed_registry(ctx), _kb_name(ctx, kb)
        followed = registry.feeds(name)
        if not followed:
            raise BadInputError(f"The knowledge base {name} follows no feeds.")
        chosen = resolve(feed, [Candidate(f.url, f.title or f.url) for f in followed], what="followed feed")
        registry.remove(name, chosen.key)
    emit({"removed": chosen.key}, as_json, lambda: console.print(f"No longer following {chosen.key}.", markup=False))


def refresh(
    ctx: typer.Context,
    kb: Annotated[str | None, KB_OPTION] = None,
    recheck: Annotated[
        str,
        typer.Option(
            "--recheck",
            help="Also re-read (conditionally) item pages this young, and all still in their feed: sites fix "
            "articles without touching the feed. 0h turns it off.",
        ),
    ] = "48h",
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Fetch every followed feed now and index what is new or changed."""
    from retrieval.feeds import FeedRefresher, requested_every

    with friendly_errors(as_json):
        base = open_kb(ctx, kb, must_exist=False)
        refresher = FeedRefresher(feed_registry(ctx), base.fetcher, recheck_s=requested_every(recheck))
        report = refresher.refresh(base)

    def render() -> None:
        if not report.feeds:
            console.print("No feeds to refresh. Add one with `newsdesk feeds add URL`.")
            return
        console.print(
            f"{report.feeds} feeds: {report.added} added, {report.updated} updated, {report.unchanged} unchanged"
        )
        print_report_details(report)

    emit({"kb": base.name, **report.to_dict()}, as_json, render)
    raise typer.Exit(exit_code(report))
