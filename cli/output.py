"""Shared output helpers: JSON for scripts, readable text for people, one-sentence errors for both."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperCommand, TyperGroup

from retrieval.errors import BadInputError, FetchError, NewsdeskError, NotFoundError, StoreUnavailableError
from retrieval.settings import Settings

console = Console()
err_console = Console(stderr=True)

JSON_OPTION = typer.Option("--json", help="Print machine-readable JSON instead of text.", metavar="")
ARTICLE_ID = typer.Argument(help="Article id (or a unique prefix of 6+ characters), or its title as you remember it.")
K_OPTION = typer.Option("-k", min=1, max=20, help="How many passages (default 6).")
KB_OPTION = typer.Option("--kb", help="Knowledge base name (default: NEWSDESK_KB or 'default').")

_USER_ERRORS = (BadInputError, NotFoundError, FetchError, StoreUnavailableError)


@dataclass
class AppState:
    """What every command receives through typer's context: the settings, built once."""

    settings: Settings
    _services: Any = None

    def services(self):
        """One Services per command (models load once), built on first use."""
        from retrieval.knowledge_base import Services

        if self._services is None:
            self._services = Services(self.settings)
        return self._services


def state(ctx: typer.Context) -> AppState:
    return ctx.ensure_object(AppState)


def open_kb(ctx: typer.Context, name: str | None, *, must_exist: bool = True):
    """The knowledge base a command works on: --kb, else NEWSDESK_KB.

    Commands that read refuse a name that holds nothing (a typo would otherwise show an empty knowledge base);
    `ingest` creates it. The default knowledge base always exists, so a new user sees its empty state.
    """
    from retrieval.store import validate_kb_name

    app = state(ctx)
    kb_name = validate_kb_name(app.settings.default_kb if name is None else name)
    services = app.services()
    if must_exist and kb_name != app.settings.default_kb:
        existing = services.records.knowledge_bases()
        if kb_name not in existing:
            listed = ", ".join(existing) or "none yet"
            raise NotFoundError(f"No knowledge base '{kb_name}'; existing: {listed}.")
    return services.kb(kb_name)


def emit(data: dict[str, Any], as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        render()


def fail(message: str, as_json: bool, code: int = 2) -> typer.Exit:
    if as_json:
        sys.stdout.write(json.dumps({"error": message}) + "\n")
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


class _Conventions:
    """What every newsdesk command shares beyond typer's defaults.

    - Usage errors (a missing argument, a value out of range) follow `--json` like every other error: one JSON
      object on stdout, the sentence on stderr, exit code 2.
    - typer labels the `--help` flag `<bool>` in the options table; a flag takes no value, so it gets no label.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        as_json = "--json" in args
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except typer.BadParameter as exc:  # a missing argument, a bad or out-of-range value
            if not as_json:
                raise
            raise fail(exc.format_message(), as_json=True) from None

    def get_help_option(self, ctx: typer.Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class Command(_Conventions, TyperCommand):
    """A newsdesk subcommand (`app.command(cls=Command)`)."""


class Group(_Conventions, TyperGroup):
    """A newsdesk command group (`typer.Typer(cls=Group)`)."""


def exit_code(report: Any) -> int:
    """0 when everything worked, 1 when some sources failed, 2 when nothing could be done (README: exit codes)."""
    done = report.added + report.updated + report.unchanged
    if report.failed:
        return 1 if done else 2
    return 0


REPORT_NAMED = 20  # articles listed per outcome in a text report; --json lists them all


def print_report_details(report: Any) -> None:
    """The articles behind a report's counts, by title (added, updated, failed with the reason, warnings); each
    list cut with how many more there are. Unchanged articles are only counted: they are usually most of them."""

    def listed(label: str, lines: list[str]) -> None:
        for line in lines[:REPORT_NAMED]:
            console.print(f"  {label} {line}", highlight=False)
        if len(lines) > REPORT_NAMED:
            console.print(f"  … and {len(lines) - REPORT_NAMED} more {label.split(']')[-1].strip()}", highlight=False)

    for outcome, colour in (("added", "green"), ("updated", "cyan")):
        titles = [escape(a.title) + (f" [dim]{escape(a.url)}[/dim]" if a.url else "") for a in report.named(outcome)]
        listed(f"[{colour}]{outcome}[/{colour}]", titles)
    listed("[red]failed[/red]", [f"{escape(f.source)}: {escape(f.reason)}" for f in report.failed])
    listed("[yellow]warning[/yellow]", [f"{escape(w.source)}: {escape(w.reason)}" for w in report.warnings])


@contextmanager
def friendly_errors(as_json: bool) -> Iterator[None]:
    """Domain errors become one sentence and an exit code (2 for bad input, 1 otherwise), never a traceback."""
    try:
        yield
    except NewsdeskError as exc:
        raise fail(str(exc), as_json, 2 if isinstance(exc, _USER_ERRORS) else 1) from None


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when piped or in JSON mode."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
