"""Entry point: builds the settings once and hands them to every subcommand."""

from __future__ import annotations

import gc
import sys
from importlib import metadata
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from cli import answers, discord_bot, feeds, health, knowledge, measure, migrate
from cli.output import JSON_OPTION, AppState, Command, Group, console, emit, err_console, fail, friendly_errors
from retrieval.logs import configure_logging
from retrieval.settings import Settings, settings_problem
from retrieval.tracing import langsmith_tracing

app = typer.Typer(
    cls=Group,
    name="newsdesk",
    help="Answer news questions from your own knowledge base, with checked citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command(cls=Command)(knowledge.ingest)
app.command(cls=Command)(knowledge.search)
app.command(cls=Command)(answers.ask)
app.command(cls=Command)(answers.summarize)
app.command(cls=Command)(answers.digest)
app.command("eval", cls=Command)(measure.eval_command)
app.command("bench", cls=Command)(measure.bench_command)
app.command(cls=Command)(feeds.refresh)
app.command(cls=Command)(health.health)
app.command(cls=Command)(migrate.migrate)
app.add_typer(knowledge.kb_app, name="kb")
app.add_typer(feeds.feeds_app, name="feeds")
app.add_typer(discord_bot.bot_app, name="bot")


def _version(show: bool) -> None:
    if show:
        console.print(f"newsdesk {metadata.version('newsdesk')}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.", metavar="")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.", metavar=""),
    ] = False,
) -> None:
    """Knowledge bases live in NEWSDESK_DATA_DIR (default: your user data folder, see `newsdesk kb stats`)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        configure_logging(verbose)
        raise fail(settings_problem(exc), "--json" in sys.argv) from None
    configure_logging(verbose, json_format=settings.log_format == "json")
    ctx.with_resource(langsmith_tracing(settings))  # left when the command is done, sending queued traces
    ctx.obj = AppState(settings=settings)


@app.command(cls=Command)
def prepare(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Build the offline models (embedder and reader) into the data directory (make install runs this)."""
    from retrieval.embeddings.model import prepare_model
    from retrieval.reader.model import prepare_fast_readers, prepare_reader

    settings: Settings = ctx.obj.settings
    with friendly_errors(as_json):
        path = prepare_model(settings.model_cache_dir)
        reader = prepare_reader(settings.model_cache_dir)
        prepare_fast_readers(settings.model_cache_dir)
    emit(
        {"model": str(path), "reader": str(reader)},
        as_json,
        lambda: console.print(f"Models ready: {path}, {reader}", markup=False),
    )


def run() -> None:
    """Console entry point: an unexpected failure is one line (the traceback only with --verbose)."""
    # Importing the answer chain creates ~180,000 objects that live as long as the process. With the default
    # threshold the cyclic collector walks them again and again while they are created, and once more at exit; a
    # higher one and a frozen heap at the end save ~0.5 s of a 2.7 s cold `ask` (2 cores). Garbage with cycles is
    # still collected, every 50,000 new objects instead of 700, which a long-running bot does not notice.
    gc.set_threshold(50_000, 20, 100)
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
    finally:
        gc.freeze()  # nothing is collected at exit
