"""`newsdesk ingest`, `newsdesk search` and the `newsdesk kb ...` group."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from cli.feeds import feed_registry
from cli.output import (
    ARTICLE_ID,
    JSON_OPTION,
    K_OPTION,
    KB_OPTION,
    Command,
    Group,
    console,
    emit,
    err_console,
    exit_code,
    fail,
    friendly_errors,
    open_kb,
    print_report_details,
    progress_bar,
    state,
)
from retrieval.errors import BadInputError, NotFoundError
from retrieval.text import clip

kb_app = typer.Typer(cls=Group, help="Inspect and edit a knowledge base.", no_args_is_help=True)


def ingest(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Files, folders or http(s) URLs to add.")],
    kb: Annotated[str | None, KB_OPTION] = None,
    allow_secrets: Annotated[
        bool,
        typer.Option("--allow-secrets", help="Index files that look like credentials (.env, API keys).", metavar=""),
    ] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Add or update articles from files, folders and URLs. Unchanged articles are skipped."""
    with friendly_errors(as_json):
        base = open_kb(ctx, kb, must_exist=False)
        try:
            with progress_bar("Embedding passages", not as_json) as progress:
                report = base.ingest(sources, progress, allow_secrets=allow_secrets)
        except KeyboardInterrupt:
            # Each batch of articles is committed whole (the journal in retrieval/ingest/records.py), so nothing is
            # half-written and a rerun embeds only what is left.
            raise fail(
                "Interrupted. Run the same command again to resume; finished articles are kept.", as_json, 130
            ) from None

    if report.failed and not (report.added or report.updated or report.unchanged):
        if len(report.failed) == 1:
            emit({"kb": base.name, **report.to_dict()}, as_json, lambda: None)
            raise fail(report.failed[0].error, False)

        def reasons() -> None:
            for failure in report.failed[:20]:
                err_console.print(f"  {escape(failure.source)}: {escape(failure.reason)}", highlight=False)

        emit({"kb": base.name, **report.to_dict()}, as_json, reasons)
        raise fail(f"Nothing could be ingested: all {len(report.failed)} sources or lines failed.", False)

    def render() -> None:
        console.print(
            f"[bold]{base.name}[/bold]: {report.added} added, {report.updated} updated, {report.unchanged} unchanged "
            f"({report.chunks_embedded} passages embedded)"
            + (
                f"; {report.skipped} files skipped (hidden or not .txt/.md/.html/.jsonl/.pdf)" if report.skipped else ""
            ),
            highlight=False,
        )
        print_report_details(report)

    emit({"kb": base.name, **report.to_dict()}, as_json, render)
    raise typer.Exit(exit_code(report))


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, K_OPTION] = 6,
    kb: Annotated[str | None, KB_OPTION] = None,
    outlet: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
    since: Annotated[str | None, typer.Option(help="Only articles published since: 12h, 7d, 2w or a date.")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published until: 12h, 7d, 2w or a date.")] = None,
    rerank: Annotated[
        bool,
        typer.Option(
            "--rerank", help="Let the reader read the leading passages with QUERY and reorder them.", metavar=""
        ),
    ] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Show the passages that best match QUERY (hybrid dense + BM25)."""
    from retrieval.search import Filters  # chromadb is heavy to import; `--help` should not wait for it

    with friendly_errors(as_json):
        filters = Filters(outlet=outlet, **date_range(since, until))
        if not query.strip():
            raise BadInputError("Give something to search for, for example: Hikvision Canada.")
        hits = open_kb(ctx, kb).search(query, k, filters, rerank=rerank)

    def render() -> None:
        if not hits:
            console.print("No matching passages. Add articles with `newsdesk ingest PATH_OR_URL`.")
        for h in hits:
            meta = ", ".join(x for x in (h.article.outlet, h.article.shown_date) if x)
            about = f" ({escape(meta)})" if meta else ""
            console.print(f"[bold]{h.rank}. {escape(h.article.title)}[/bold]{about} [dim]{h.chunk.chunk_id}[/dim]")
            snippet = Padding(clip(" ".join(h.chunk.text.split()), 300), (0, 0, 0, 3))  # wrapped lines stay indented
            console.print(snippet, highlight=False, markup=False)

    emit({"results": [h.to_dict() for h in hits]}, as_json, render)


def date_range(since: str | None, until: str | None) -> dict[str, str | None]:
    """--since / --until in the digest's vocabulary (7d, 12h, 2w or a date), checked to be in order."""
    from retrieval.dates import parse_since

    first = parse_since(since).isoformat() if since else None
    last = parse_since(until).isoformat() if until else None
    if first and last and first > last:
        raise BadInputError(f"--since ({first}) is later than --until ({last}); swap them.")
    return {"since": first, "until": last}


@kb_app.command("ls", cls=Command)
def kb_ls(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """List the knowledge bases, with their sizes."""
    with friendly_errors(as_json):
        app = state(ctx)
        sizes = app.services().records.kb_sizes()
    data = {
        "data_dir": str(app.settings.data_dir),
        "knowledge_bases": [{"kb": kb, "articles": a, "passages": p} for kb, a, p in sizes],
    }

    def render() -> None:
        if not sizes:
            console.print("No knowledge bases yet. Create one with `newsdesk ingest PATH_OR_URL [--kb NAME]`.")
        for kb, articles, passages in sizes:
            console.print(f"{kb}: {articles} articles, {passages} passages", markup=False)
        console.print(f"data directory: {app.settings.data_dir}", markup=False, style="dim")

    emit(data, as_json, render)


@kb_app.command("list", cls=Command)
def kb_list(
    ctx: typer.Context,
    kb: Annotated[str | None, KB_OPTION] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many (newest first).")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """List the articles in the knowledge base, newest first."""
    with friendly_errors(as_json):
        base = open_kb(ctx, kb)
        articles = base.articles()[:limit]
    data = {
        "kb": base.name,
        "articles": [
            {
                "article_id": a.id,
                "title": a.title,
                "outlet": a.outlet,
                "url": a.url,
                "published": a.published,
                "published_approximate": a.published_approximate,
                "chunks": a.chunks,
            }
            for a in articles
        ],
    }

    def render() -> None:
        if not articles:
            console.print("The knowledge base is empty. Add articles with `newsdesk ingest PATH_OR_URL`.")
            return
        table = Table("id", "title", "outlet", "published", "chunks")
        for a in articles:
            table.add_row(
                a.id,
                escape(a.title[:70]),
                escape(a.outlet or ""),
                a.shown_date or "",
                str(a.chunks),
            )
        console.print(table)

    emit(data, as_json, render)


@kb_app.command("show", cls=Command)
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
        console.print(
            f"{record.outlet or ''} {record.shown_date or ''} {record.url or ''}",
            markup=False,
        )
        for c in chunks:
            console.print(f"[dim]{c.chunk_id}[/dim] {escape(c.text)}", highlight=False)

    emit(data, as_json, render)


@kb_app.command("remove", cls=Command)
def kb_remove(
    ctx: typer.Context,
    article_id: Annotated[str, ARTICLE_ID],
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Remove an article and all its passages."""
    with friendly_errors(as_json):
        base = open_kb(ctx, kb)
        record, chunks = base.remove(article_id)
    emit(
        {"kb": base.name, "article_id": record.id, "title": record.title, "chunks": chunks, "removed": True},
        as_json,
        lambda: console.print(f"Removed {record.title!r} ({chunks} passages).", markup=False),
    )


@kb_app.command("drop", cls=Command)
def kb_drop(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The knowledge base to delete, as `kb ls` lists it.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: its articles cannot be recovered.", metavar="")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Delete a whole knowledge base: its articles, passages, vectors and saved search index. Stop the bot first."""
    from retrieval.store import validate_kb_name

    with friendly_errors(as_json):
        app = state(ctx)
        name = validate_kb_name(name)
        services = app.services()
        sizes = {kb: (articles, passages) for kb, articles, passages in services.records.kb_sizes()}
        if name not in sizes:
            raise NotFoundError(f"No knowledge base '{name}'; existing: {', '.join(sizes) or 'none yet'}.")
        if followed := feed_registry(ctx).feeds(name):
            raise BadInputError(
                f"'{name}' follows {len(followed)} feed(s), whose next refresh would fill it again; stop following "
                f"them first (`newsdesk feeds remove --kb {name} FEED`)."
            )
        articles, passages = sizes[name]
        if not yes:
            raise BadInputError(f"Dropping '{name}' deletes its {articles} articles for good; add --yes to confirm.")
        services.drop_kb(name)
    emit(
        {"kb": name, "articles": articles, "passages": passages, "dropped": True},
        as_json,
        lambda: console.print(f"Dropped {name} ({articles} articles, {passages} passages).", markup=False),
    )


@kb_app.command("stats", cls=Command)
def kb_stats(
    ctx: typer.Context,
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Counts, outlets, date range and last ingest time."""
    with friendly_errors(as_json):
        stats = open_kb(ctx, kb).stats()
    data_dir = str(state(ctx).settings.data_dir)

    def render() -> None:
        console.print(f"[bold]{stats.kb}[/bold]: {stats.articles} articles, {stats.chunks} passages")
        if stats.outlets:
            console.print("outlets: " + ", ".join(f"{o} ({n})" for o, n in stats.outlets.items()), markup=False)
        console.print(f"published: {stats.oldest or '?'} .. {stats.newest or '?'}; last ingest: {stats.last_ingest}")
        console.print(f"data directory: {data_dir}", markup=False, style="dim")

    emit({**stats.to_dict(), "data_dir": data_dir}, as_json, render)
