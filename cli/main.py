"""Entry point: builds the settings once and hands them to every subcommand."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from cli import answers, discord_bot, feeds, knowledge, measure
from cli.output import JSON_OPTION, AppState, console, emit, err_console, friendly_errors
from retrieval.logs import configure_logging
from retrieval.settings import Settings

app = typer.Typer(
    name="newsdesk",
    help="Answer news questions from your own knowledge base, with checked citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(knowledge.ingest)
app.command()(knowledge.search)
app.command()(answers.ask)
app.command()(answers.summarize)
app.command()(answers.digest)
app.command("eval")(measure.eval_command)
app.command("bench")(measure.bench_command)
app.command()(feeds.refresh)
app.add_typer(knowledge.kb_app, name="kb")
app.add_typer(feeds.feeds_app, name="feeds")
app.add_typer(discord_bot.bot_app, name="bot")


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")] = False,
) -> None:
    configure_logging(verbose)
    ctx.obj = AppState(settings=Settings())


@app.command()
def prepare(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Build the offline embedding model into the data directory (make install runs this)."""
    from retrieval.embeddings.model import prepare_model

    settings: Settings = ctx.obj.settings
    with friendly_errors(as_json):
        path = prepare_model(settings.model_cache_dir)
    emit({"model": str(path)}, as_json, lambda: console.print(f"Embedding model ready: {path}"))


def run() -> None:
    """Console entry point: an unexpected failure is one line (the traceback only with --verbose)."""
    try:
        app()
    except Exception as exc:  # the last line of defence; domain errors are handled inside each command
        if "-v" in sys.argv or "--verbose" in sys.argv:
            raise
        err_console.print(
            f"[red]error:[/red] unexpected {type(exc).__name__}: {escape(str(exc))} (run with --verbose for details)",
            highlight=False,
        )
        sys.exit(1)
