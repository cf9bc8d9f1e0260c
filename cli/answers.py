"""`newsdesk ask`, `newsdesk summarize` and `newsdesk digest`: cited answers for people and scripts."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import JSON_OPTION, K_OPTION, KB_OPTION, console, emit, friendly_errors, open_kb, state
from retrieval.errors import BadInputError
from retrieval.loading import load_models_ahead
from retrieval.types import Answer


def _render(answer: Answer) -> None:
    console.print(answer.answer, highlight=False, markup=False)
    if answer.as_of and answer.grounded:
        console.print(f"[dim]As of {answer.as_of}.[/dim]")
    if answer.notice:
        console.print(f"[dim]{answer.notice}[/dim]")
    if answer.citations:
        console.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            meta = ", ".join(x for x in (c.outlet, c.shown_date) if x)
            if c.also_in:
                meta += f" (also: {', '.join(c.also_in)})"
            console.print(
                f"  [{c.n}] {c.title}" + (f" — {meta}" if meta else "") + (f" <{c.url}>" if c.url else ""),
                highlight=False,
                markup=False,
            )
    elif answer.nearest:
        console.print("\nNearest articles in the knowledge base:")
        for a in answer.nearest:
            console.print(f"  - {a.title}" + (f" ({a.outlet})" if a.outlet else ""), highlight=False, markup=False)


def _services(ctx: typer.Context, kb: str | None):
    from retrieval.answer import chat_model_for

    return open_kb(ctx, kb), chat_model_for(state(ctx).settings)


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Your question, e.g. 'why did Canada ban Hikvision?'.")],
    kb: Annotated[str | None, KB_OPTION] = None,
    k: Annotated[int | None, K_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Answer QUESTION from the knowledge base, citing every sentence."""
    app = state(ctx)
    load_models_ahead(app.settings.model_cache_dir)  # while the answer chain is imported
    from retrieval.answer.chain import AnswerService

    with friendly_errors(as_json):
        base, model = _services(ctx, kb)
        answer = AnswerService(app.settings, base, model).ask(question, k=k)
    emit(answer.to_dict(), as_json, lambda: _render(answer))


def summarize(
    ctx: typer.Context,
    topic: Annotated[
        str | None,
        typer.Argument(help="Summarise what the articles say about this, e.g. 'TikTok'.", show_default=False),
    ] = None,
    article: Annotated[
        str | None, typer.Option("--article", help="Summarise this one article (its id or title).")
    ] = None,
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """A cited summary of TOPIC across articles, or of one article (--article)."""
    from retrieval.answer.summaries import SummaryService

    app = state(ctx)
    with friendly_errors(as_json):
        if (topic is None) == (article is None):
            raise BadInputError("Give a TOPIC or --article (an id or title): one of the two.")
        base, model = _services(ctx, kb)
        service = SummaryService(app.settings, base, model)
        answer = service.topic(topic) if topic is not None else service.article(article or "")
    emit(answer.to_dict(), as_json, lambda: _render(answer))


def digest(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="Period (12h, 7d, 2w) or a date (YYYY-MM-DD).")] = "7d",
    kb: Annotated[str | None, KB_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """What is new in the knowledge base: one cited line per story, newest first."""
    from retrieval.answer.summaries import SummaryService

    app = state(ctx)
    with friendly_errors(as_json):
        base, model = _services(ctx, kb)
        answer = SummaryService(app.settings, base, model).digest(since)
    emit(answer.to_dict(), as_json, lambda: _render(answer))
