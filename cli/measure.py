"""`newsdesk eval`: recall, answer quality and latency on a question set or on the news yardstick."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.output import JSON_OPTION, KB_OPTION, AppState, console, emit, fail, friendly_errors, progress_bar, state
from retrieval.errors import BadInputError

if TYPE_CHECKING:
    from retrieval.answer.chain import AnswerService
    from retrieval.evaluation import Dataset
    from retrieval.knowledge_base import KnowledgeBase
    from retrieval.news_yardstick import NewsReport


def eval_command(
    ctx: typer.Context,
    dataset: Annotated[
        Path,
        typer.Argument(help="SQuAD-format .json, a .jsonl of {question, answers}, or the RealTime QA news .jsonl.gz."),
    ],
    limit: Annotated[int | None, typer.Option(min=1, help="Ask a seeded sample of this many questions.")] = None,
    k: Annotated[str, typer.Option("--k", help="Comma-separated k values for recall@k (question sets).")] = "1,4,10",
    budget: Annotated[int, typer.Option(min=100, help="Context budget in characters (question sets).")] = 4000,
    news_slice: Annotated[
        str | None,
        typer.Option("--slice", help="News file only: the 'reported' weeks (default) or the 'tuning' weeks."),
    ] = None,
    kb: Annotated[str | None, KB_OPTION] = None,
    skip_answers: Annotated[bool, typer.Option("--skip-answers", help="Measure retrieval only.", metavar="")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Measure retrieval recall@k within a context budget, MRR, answer quality and latency; on the news file,
    recall of an answer-bearing article, answers, refusals with and without it, and latency on one fixed slice."""
    from retrieval.news_yardstick import is_news

    if is_news(dataset):
        _eval_news(ctx, dataset, news_slice, limit, kb, skip_answers, as_json)
    elif news_slice is not None:
        raise fail("--slice applies to the RealTime QA news file (.jsonl.gz) only.", as_json, 2)
    else:
        _eval_questions(ctx, dataset, limit, k, budget, kb, skip_answers, as_json)


def _answer_service(app: AppState, base: KnowledgeBase, skip_answers: bool) -> AnswerService | None:
    from retrieval.answer import chat_model_for
    from retrieval.answer.chain import AnswerService

    return None if skip_answers else AnswerService(app.settings, base, chat_model_for(app.settings))


def _indexed(app: AppState, data: Dataset, kb: str | None, as_json: bool) -> KnowledgeBase:
    """The dataset's articles in a knowledge base of their own (named by content, so a re-run embeds nothing)."""
    from retrieval.evaluation import eval_kb_name

    base = app.services().kb(kb or eval_kb_name(data))
    with progress_bar("Indexing", not as_json) as progress:
        base.ingest_articles(data.articles, progress)
    return base


def _eval_questions(
    ctx: typer.Context,
    dataset: Path,
    limit: int | None,
    k: str,
    budget: int,
    kb: str | None,
    skip_answers: bool,
    as_json: bool,
) -> None:
    from retrieval.evaluation import evaluate, load_dataset, sample

    app = state(ctx)
    with friendly_errors(as_json):
        try:
            ks = sorted({int(x) for x in k.split(",") if x.strip()})
        except ValueError:
            raise BadInputError(f"--k takes numbers like 1,4,10, not {k!r}.") from None
        data = load_dataset(dataset)
        # A SQuAD file brings its articles; a questions file is asked of a knowledge base that exists.
        base = _indexed(app, data, kb, as_json) if data.articles else app.services().kb(kb or app.settings.default_kb)
        answers = _answer_service(app, base, skip_answers)
        with progress_bar("Asking", not as_json) as progress:
            report = evaluate(base, sample(data.questions, limit), ks, budget, answers, progress)

    def render() -> None:
        table = Table("metric", "value", title=f"{data.name}: {report.questions} questions, {budget}-char budget")
        for key, value in report.recall.items():
            table.add_row(f"recall@{key}", f"{value:.3f}")
        table.add_row("MRR", f"{report.mrr:.3f}")
        table.add_row("query p50 / p95 (ms)", f"{report.query_ms['p50']} / {report.query_ms['p95']}")
        if report.answer_contains is not None:
            table.add_row("answer contains gold", f"{report.answer_contains:.3f}")
            table.add_row("first sentence contains gold", f"{report.lead_contains:.3f}")
            table.add_row("refused", f"{report.refused:.3f}")
            table.add_row("citations valid", f"{report.citations_valid:.3f}")
            table.add_row("sentences dropped by support check", f"{report.dropped_sentences:.3f}")
            table.add_row("ask p50 / p95 (ms)", f"{report.ask_ms['p50']} / {report.ask_ms['p95']}")
        console.print(table)

    emit(report.to_dict(), as_json, render)


def _eval_news(
    ctx: typer.Context,
    dataset: Path,
    news_slice: str | None,
    limit: int | None,
    kb: str | None,
    skip_answers: bool,
    as_json: bool,
) -> None:
    """The news yardstick: one fixed slice of weeks indexed as its own knowledge base, then its questions asked."""
    from retrieval.news_yardstick import REPORTED, evaluate_news, load_news

    app = state(ctx)
    with friendly_errors(as_json):
        news = load_news(dataset, news_slice or REPORTED.name)
        base = _indexed(app, news, kb, as_json)
        with progress_bar("Asking", not as_json) as progress:
            report = evaluate_news(base, news, _answer_service(app, base, skip_answers), limit, progress)
    emit(report.to_dict(), as_json, lambda: console.print(_news_table(report)))


def _news_table(report: NewsReport) -> Table:
    from retrieval.news_yardstick import TARGETS, target_met

    title = (
        f"news, {report.slice} slice ({report.dates}): {report.questions} questions asked ({report.answerable} of "
        f"{report.quiz_questions} answerable), {report.articles} articles, {report.passages} passages"
    )
    rows = [("recall@1", report.recall["1"]), ("recall@4", report.recall["4"])]
    if report.answer_contains is not None:
        rows += [
            ("answer_contains", report.answer_contains),
            ("false_refusals", report.false_refusals),
            ("refused_without_gold", report.refused_without_gold),
            ("answered_without_gold", report.answered_without_gold),
        ]
    table = Table("metric", "value", "target (reported slice)", title=title)
    for metric, value in rows:
        target = TARGETS.get(metric)
        shown = f"{' '.join(map(str, target))} ({'met' if target_met(metric, value) else 'not met'})" if target else ""
        table.add_row(metric, f"{value:.3f}", shown)
    table.add_row("search p50 / p95 (ms)", f"{report.query_ms['p50']} / {report.query_ms['p95']}", "")
    if report.ask_ms:
        table.add_row("ask p50 / p95 (ms)", f"{report.ask_ms['p50']} / {report.ask_ms['p95']}", "")
    return table


def bench_command(
    ctx: typer.Context,
    squad: Annotated[Path, typer.Option(help="SQuAD v1.1 dev JSON for the comparison.")] = Path(
        "../shared/data/squad-v1.1-dev.json"
    ),
    questions: Annotated[int, typer.Option(min=10, help="Questions in the seeded sample.")] = 1000,
    scale: Annotated[
        str, typer.Option(help="Comma-separated corpus sizes for the scale points.")
    ] = "1000,10000,100000",
    out: Annotated[Path, typer.Option(help="Where to write the raw numbers.")] = Path("bench/results.json"),
    docs: Annotated[Path, typer.Option(help="Where to write the Markdown report and plot.")] = Path("docs"),
    report_only: Annotated[
        bool, typer.Option("--report-only", help="Rewrite the report from --out without measuring again.", metavar="")
    ] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Benchmark newsdesk against the textbook LangChain pipeline; writes results.json and docs/BENCHMARKS.md."""
    import json

    try:
        from bench import report
        from bench.run import run
    except ImportError as exc:  # the Docker image and a plain `pip install` leave the bench extra out
        raise fail(
            f"newsdesk bench needs the bench extra ({exc.name} is missing); install it with `make install`.", as_json
        ) from None

    app = state(ctx)
    with friendly_errors(as_json):
        if report_only:
            if not out.exists():
                raise BadInputError(f"{out} does not exist; run `newsdesk bench` first.")
            results = json.loads(out.read_text())
        else:
            try:
                sizes = [int(x) for x in scale.split(",") if x.strip()]
            except ValueError:
                raise BadInputError(f"--scale takes numbers like 1000,10000, not {scale!r}.") from None
            log = (lambda _: None) if as_json else (lambda line: console.print(line, highlight=False))
            results = run(app.settings, squad, questions, sizes, log)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=2) + "\n")
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "BENCHMARKS.md").write_text(report.markdown(results, report.news_runs(out.parent)))
    if results.get("squad"):
        report.plot(results, docs / "bench.png")
    emit(results, as_json, lambda: console.print(f"Wrote {out} and {docs / 'BENCHMARKS.md'}."))
