"""`newsdesk ingest`, `newsdesk search` and the `newsdesk kb ...` group."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.output import (
    ARTICLE_ID,
    JSON_OPTION,
    KB_OPTION,
    console,
    emit,
    fail,
    friendly_errors,
    open_kb,
    progress_bar,
)

kb_app = typer.Typer(help="Inspect and edit a knowledge base.", no_args_is_help=True)


def ingest(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Files, folders or http(s) URLs to add.")],
    kb: Annotated[str | None, KB_OPTION] = None,
    allow_secrets: Annotated[
        bool, typer.Option("--allow-secrets", help="Index files that look like credentials (.env, API keys).")
    ] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Add or update articles from files, folders and URLs. Unchanged articles are skipped."""
    with friendly_errors(as_json):
        base = open_kb(ctx, kb)
        with progress_bar("Indexing", not as_json) as progress:
            report = base.ingest(sources, progress, allow_secrets=allow_secrets)
    if report.failed and not (report.added or report.updated or report.unchanged):
        emit(report.to_dict(), as_json, lambda: None)
        raise fail(report.failed[0].error if len(report.failed) == 1 else "Nothing could be ingested.", False)

    def render() -> None:
        console.print(
            f"[bold]{base.name}[/bold]: {report.added} added, {report.updated} updated, {report.unchanged} unchanged "
            f"({report.chunks_embedded} passages embedded)"
            + (f"; {report.skipped} files skipped (hidden or not .txt/.md/.html/.jsonl)" if report.skipped else ""),
            highlight=False,
        )
        for failure in report.failed:
            console.print(f"  [red]failed[/red] {escape(failure.source)}: {escape(failure.error)}", highlight=False)

    emit(report.to_dict(), as_json, render)


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many passages to return.")] = 6,
    kb: Annotated[str | None, KB_OPTION] = None,
    outlet: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
    since: Annotated[str | None, typer.Option(help="Only articles published on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published on or before YYYY-MM-DD.")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Show the passages that best match QUERY (hybrid dense + BM25)."""
    from retrieval.search import Filters  # chromadb is heavy to import; `--help` should not wait for it

    with friendly_errors(as_json):
        filters = Filters(outlet=outlet, since=_iso(since), until=_iso(until))
        hits = open_kb(ctx, kb).search(query, k, filters)

    def render() -> None:
        if not hits:
            console.print("No matching passages. Add articles with `newsdesk ingest PATH_OR_URL`.")
        for h in hits:
            meta = ", ".join(x for x in (h.article.outlet, h.article.published) if x)
            console.print(
                f"[bold]{h.rank}. {escape(h.article.title)}[/bold] ({escape(meta)}) [dim]{h.chunk.chunk_id}[/dim]"
            )
            console.print(f"   {h.chunk.text[:300]}", highlight=False, markup=False)

    emit({"results": [h.to_dict() for h in hits]}, as_json, render)


def _iso(value: str | None) -> str | None:
    from retrieval.dates import iso_date
    from retrieval.errors import BadInputError

    if value is None:
        return None
    parsed = iso_date(value)
    if parsed is None:
        raise BadInputError(f"{value!r} is not a date; use YYYY-MM-DD.")
    return parsed


@kb_app.command("list")
def kb_list(
    ctx: typer.Context,
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """List the articles in the knowledge base, newest first."""
    with friendly_errors(as_json):
        articles = open_kb(ctx, kb).articles()
    data = {
        "articles": [
            {
                "id": a.id,
                "title": a.title,
                "outlet": a.outlet,
                "url": a.url,
                "published": a.published,
                "chunks": a.chunks,
            }
            for a in articles
        ]
    }

    def render() -> None:
        if not articles:
            console.print("The knowledge base is empty. Add articles with `newsdesk ingest PATH_OR_URL`.")
            return
        table = Table("id", "title", "outlet", "published", "chunks")
        for a in articles:
            table.add_row(a.id, escape(a.title[:70]), escape(a.outlet or ""), a.published or "", str(a.chunks))
        console.print(table)

    emit(data, as_json, render)


@kb_app.command("show")
def kb_show(
    ctx: typer.Context,
    article_id: Annotated[str, ARTICLE_ID],
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Show one article's metadata and passages."""
    with friendly_errors(as_json):
        record, chunks = open_kb(ctx, kb).article(article_id)
    data = {"article": record.to_dict(), "chunks": [{"chunk_id": c.chunk_id, "text": c.text} for c in chunks]}

    def render() -> None:
        console.print(f"[bold]{escape(record.title)}[/bold]")
        console.print(f"{record.outlet or ''} {record.published or ''} {record.url or ''}", markup=False)
        for c in chunks:
            console.print(f"[dim]{c.chunk_id}[/dim] {escape(c.text)}", highlight=False)

    emit(data, as_json, render)


@kb_app.command("remove")
def kb_remove(
    ctx: typer.Context,
    article_id: Annotated[str, ARTICLE_ID],
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Remove an article and all its passages."""
    with friendly_errors(as_json):
        record, chunks = open_kb(ctx, kb).remove(article_id)
    emit(
        {"removed": record.id, "title": record.title, "chunks": chunks},
        as_json,
        lambda: console.print(f"Removed {record.title!r} ({chunks} passages).", markup=False),
    )


@kb_app.command("stats")
def kb_stats(
    ctx: typer.Context,
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Counts, outlets, date range and last ingest time."""
    with friendly_errors(as_json):
        stats = open_kb(ctx, kb).stats()

    def render() -> None:
        console.print(f"[bold]{stats.kb}[/bold]: {stats.articles} articles, {stats.chunks} passages")
        if stats.outlets:
            console.print("outlets: " + ", ".join(f"{o} ({n})" for o, n in stats.outlets.items()), markup=False)
        console.print(f"published: {stats.oldest or '?'} .. {stats.newest or '?'}; last ingest: {stats.last_ingest}")

    emit(stats.to_dict(), as_json, render)
