"""`newsdesk feeds add|list|remove` and `newsdesk refresh`: keep a knowledge base current from RSS and Atom feeds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.output import JSON_OPTION, KB_OPTION, console, emit, friendly_errors, open_kb, state

feeds_app = typer.Typer(help="Follow RSS and Atom feeds.", no_args_is_help=True)


def _registry(ctx: typer.Context):
    from retrieval.feeds import FeedRegistry

    return FeedRegistry(state(ctx).settings.feeds_path)


def _kb_name(ctx: typer.Context, kb: str | None) -> str:
    from retrieval.store import validate_kb_name

    return validate_kb_name(kb or state(ctx).settings.default_kb)


@feeds_app.command("add")
def feeds_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The feed's http(s) address.")],
    every: Annotated[str, typer.Option("--every", help="How often to refresh it: 30m, 1h, 1d.")] = "1h",
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Follow a feed (checked against the private-address guard now; fetched on `newsdesk refresh`)."""
    from retrieval.feeds import parse_every
    from retrieval.loaders.url import SafeFetcher

    with friendly_errors(as_json):
        SafeFetcher(state(ctx).settings).check(url)
        feed = _registry(ctx).add(_kb_name(ctx, kb), url, parse_every(every))
    emit(
        feed.to_dict(),
        as_json,
        lambda: console.print(f"Following {url}; run `newsdesk refresh` to fetch it now.", markup=False),
    )


@feeds_app.command("list")
def feeds_list(
    ctx: typer.Context, kb: Annotated[str | None, KB_OPTION] = None, as_json: Annotated[bool, JSON_OPTION] = False
) -> None:
    """The feeds this knowledge base follows, with their last fetch, last error and next due time."""
    with friendly_errors(as_json):
        feeds = _registry(ctx).feeds(_kb_name(ctx, kb))

    def render() -> None:
        if not feeds:
            console.print("No feeds yet. Add one with `newsdesk feeds add URL`.")
            return
        table = Table("feed", "every", "last success", "last error")
        for f in feeds:
            table.add_row(
                escape(f.title or f.url),
                f"{f.every_s // 60} min",
                f.last_success or "never",
                escape(f.last_error or ""),
            )
        console.print(table)

    emit({"feeds": [f.to_dict() for f in feeds]}, as_json, render)


@feeds_app.command("remove")
def feeds_remove(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The feed's address, as added.")],
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Stop following a feed (its articles stay in the knowledge base)."""
    with friendly_errors(as_json):
        _registry(ctx).remove(_kb_name(ctx, kb), url)
    emit({"removed": url}, as_json, lambda: console.print(f"No longer following {url}.", markup=False))


def refresh(
    ctx: typer.Context,
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Fetch every followed feed now and index what is new or changed."""
    from retrieval.feeds import FeedRefresher

    with friendly_errors(as_json):
        base = open_kb(ctx, kb)
        refresher = FeedRefresher(_registry(ctx), base.fetcher)
        report = refresher.refresh(base)

    def render() -> None:
        if not report.feeds:
            console.print("No feeds to refresh. Add one with `newsdesk feeds add URL`.")
            return
        console.print(
            f"{report.feeds} feeds: {report.added} added, {report.updated} updated, {report.unchanged} unchanged"
        )
        for failure in report.failed:
            console.print(f"  [red]failed[/red] {escape(failure.source)}: {escape(failure.error)}", highlight=False)

    emit(report.to_dict(), as_json, render)
