"""Rendering answers for Discord within its limits: 2000-character messages, 4096-character embed descriptions,
1024-character fields, 25 fields and 6000 characters per embed. Article text is never trusted as markup.

Answers are 1-4 sentences and fit easily; digests and summaries can be long. Their first page goes to the channel
with a "Show more" button, and whoever presses it pages through the rest privately, rather than the answer being
split over several messages that would bury the channel."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit, urlunsplit

import discord

from retrieval.text import clip, visible
from retrieval.types import Answer, Citation

MESSAGE_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
FIELDS_PER_EMBED = 25
EMBED_TOTAL = 6000
TITLE_LIMIT = 256
BRAND = discord.Colour.from_rgb(44, 110, 190)
NO_PINGS = discord.AllowedMentions.none()  # passed on every send, on top of the client default
REFUSAL_COLOUR = discord.Colour.light_grey()
_MASKED_LINK = re.compile(r"\]\s*\(")  # "[text](url)" renders as a link; "[text] (url)" does not
_LIST_ITEM = re.compile(r"(?m)^\\- ")
# "<@id>", "<#channel>", "</command:id>", "<:emoji:id>", "<t:0:R>" render as Discord objects, not as the text.
_DISCORD_TAG = re.compile(r"<(?=[@#/:]|a:|t:)")
# What a link target may hold unencoded: no brackets, parentheses, angle brackets, quotes, spaces or backslashes,
# any of which could end the link early or start another one.
_URL_SAFE = "!#$%&'*+,/:;=?@-._~"


def clip_lines(text: str, limit: int) -> str:
    """`text` cut at a line break to fit `limit`, ending with how many lines were left out (digests are lists)."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        rest = len(lines) - i - 1
        note = f"\n… and {rest} more" if rest else ""
        if len("\n".join([*kept, line])) + len(note) > limit:
            break
        kept.append(line)
    if not kept:
        return clip(text, limit)
    return "\n".join(kept) + f"\n… and {len(lines) - len(kept)} more"


def pages_of(text: str, limit: int) -> list[str]:
    """`text` cut at line breaks into pages of at most `limit` characters (a line longer than a page is clipped)."""
    pages: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            pages.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*pages, current]


def plain(text: str) -> str:
    """Text from an article, feed, page, file, LLM or member as Discord shows it: what it says, never markup.

    Invisible and bidi control characters go, Markdown is escaped, "](" is broken so no masked link can form, and
    mention-like tags show as text. Every such text passes through here before it joins a message, embed or field.
    """
    escaped = _MASKED_LINK.sub("] (", discord.utils.escape_markdown(visible(text)))
    return _DISCORD_TAG.sub(r"\\<", escaped)


def timestamp(iso: str | None, style: str = "R", *, missing: str = "never") -> str:
    """A stored ISO time as a Discord timestamp ("3 hours ago", in each reader's own time zone and language);
    `missing` when there is none or it cannot be read. Embed footers and titles do not render these."""
    if not iso:
        return missing
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the store writes UTC
    return f"<t:{int(moment.timestamp())}:{style}>"


def named_list(heading: str, lines: list[str], shown: int) -> str:
    """A report section: a bold heading and its first `shown` lines as bullets, then how many more there are."""
    more = f"\n… and {len(lines) - shown} more" if len(lines) > shown else ""
    return f"**{heading}**\n" + "\n".join(f"• {line}" for line in lines[:shown]) + more


def safe_url(url: str | None) -> str | None:
    """`url` fit to be a link target: http(s), a host name, no user name or password (so "https://bank.example@evil"
    cannot pass for the bank), every character that could end a link percent-encoded; None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(visible(url).strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc or "[" in parts.netloc:
        return None
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            netloc = netloc.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not re.fullmatch(r"[A-Za-z0-9.-]+(?::\d{1,5})?", netloc):
        return None
    encoded = (quote(part, safe=_URL_SAFE) for part in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme.lower(), netloc, *encoded))


def link(text: str, url: str | None) -> str:
    """The only way a link reaches Discord: `text` escaped, with its brackets made parentheses so it cannot close
    the link early, pointing at `url` when that is safe (`safe_url`); the text alone when it is not."""
    shown = plain(text).replace("[", "(").replace("]", ")")
    target = safe_url(url)
    return f"[{shown}]({target})" if target else shown


def shown_address(address: str, limit: int = 200) -> str:
    """An address shown as text (a feed, a failed item, a link being added): a safe URL as itself in angle brackets,
    so what is shown is where it goes, with no preview; anything else as inert code that links nowhere."""
    target = safe_url(address)
    if target and len(target) + 2 <= limit:
        return f"<{target}>"
    return "`" + clip(visible(address), limit - 2).replace("`", "'") + "`"


def answer_markup(answer: Answer) -> str:
    """The answer as Discord Markdown: its text escaped (no masked links, no formatting tricks from articles or the
    LLM), with the words that answer the question in bold."""
    return markup(answer.answer, answer.answer_spans)


def answer_pages(answer: Answer) -> list[str]:
    """The answer's text in pages that fit an embed, leaving room for the "Show more" note on the first."""
    return pages_of(answer_markup(answer), PAGE_LIMIT)


def markup(answer_text: str, spans: list[str]) -> str:
    text = _LIST_ITEM.sub("- ", plain(answer_text))  # digests are lists: keep their bullets
    for span in spans:
        escaped = plain(span)
        if escaped.strip() and escaped in text:
            text = text.replace(escaped, f"**{escaped}**", 1)
    return text


def source_line(c: Citation) -> str:
    meta = ", ".join(x for x in (c.outlet, c.shown_date) if x)
    if c.also_in:
        meta += f" (also: {', '.join(c.also_in[:3])}{'…' if len(c.also_in) > 3 else ''})"
    return f"[{c.n}] {link(clip(c.title, 90), c.url)}" + (f" — {plain(meta)}" if meta else "")


def _fields(name: str, lines: list[str]) -> list[tuple[str, str]]:
    """Lines packed into as few fields as their 1024-character limit allows."""
    fields: list[tuple[str, str]] = []
    current = ""
    for line in lines:
        line = clip(line, FIELD_LIMIT)
        if current and len(current) + 1 + len(line) > FIELD_LIMIT:
            fields.append((name if not fields else f"{name} (cont.)", current))
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        fields.append((name if not fields else f"{name} (cont.)", current))
    return fields


def add_fields(embed: discord.Embed, fields: list[tuple[str, str]], *, reserve: int = 0) -> int:
    """Add whole fields while the embed stays within 25 fields and 6000 characters (`reserve` kept for a footer).
    Returns how many fields did not fit."""
    budget = EMBED_TOTAL - len(embed.title or "") - len(embed.description or "") - reserve
    for added, (name, value) in enumerate(fields):
        name, value = clip(name, TITLE_LIMIT), clip(value, FIELD_LIMIT)
        if added == FIELDS_PER_EMBED - 1 or len(name) + len(value) > budget:
            return len(fields) - added
        embed.add_field(name=name, value=value, inline=False)
        budget -= len(name) + len(value)
    return 0


PAGE_LIMIT = DESCRIPTION_LIMIT - 100


def _first_page(pages: list[str]) -> str:
    more = len(pages) - 1
    return pages[0] + (f"\n\n*… {more} more page{'s' * (more > 1)}: press Show more to read on.*" if more else "")


FOOTER_RESERVE = 200  # room kept for the footer (date, mode, notice, where the other sources are)


def _source_lines(answer: Answer) -> list[str]:
    return [source_line(c) for c in answer.citations]


def sources_in_embed(answer: Answer) -> int:
    """How many of the answer's sources fit under it, beside its first page and the longest title; the others
    are in the pager (Show more), so a long digest's every source stays reachable."""
    budget = EMBED_TOTAL - TITLE_LIMIT - len(_first_page(answer_pages(answer))) - FOOTER_RESERVE
    shown = 0
    for index, (name, value) in enumerate(_fields("Sources", _source_lines(answer))):
        if index == FIELDS_PER_EMBED - 1 or len(name) + len(value) > budget:
            break
        budget -= len(name) + len(value)
        shown += value.count("\n") + 1
    return shown


def needs_pager(answer: Answer) -> bool:
    """Whether the answer has more than its embed shows: more pages of text, or sources that did not fit."""
    return len(answer_pages(answer)) > 1 or (answer.grounded and sources_in_embed(answer) < len(answer.citations))


def source_pages(answer: Answer) -> list[str]:
    """Every source of the answer, as pager pages (after the answer's own pages)."""
    return pages_of("**Sources**\n" + "\n".join(_source_lines(answer)), PAGE_LIMIT) if answer.citations else []


def answer_embed(answer: Answer, *, title: str | None = None) -> discord.Embed:
    """The answer text with a Sources field; refusals list the nearest articles instead."""
    embed = discord.Embed(
        title=clip(plain(title or answer.question), TITLE_LIMIT),
        description=_first_page(answer_pages(answer)),
        colour=BRAND if answer.grounded else REFUSAL_COLOUR,
    )
    footer = "offline extractive answer" if answer.mode == "extractive" else "LLM answer, citations checked"
    if answer.grounded:
        shown = sources_in_embed(answer)
        add_fields(embed, _fields("Sources", _source_lines(answer)[:shown]))
        if shown < len(answer.citations):
            footer = f"Sources [{shown + 1}]-[{len(answer.citations)}]: press Show more · {footer}"
    else:
        nearest = [
            f"• {plain(clip(a.title, 90))}" + (f" — {plain(a.outlet)}" if a.outlet else "") for a in answer.nearest
        ]
        add_fields(embed, _fields("Nearest articles in this server's knowledge base", nearest), reserve=100)
    if answer.grounded and answer.as_of:
        footer = f"As of {answer.as_of} · {footer}"
    if answer.notice:
        footer = f"{footer} · {answer.notice}"
    embed.set_footer(text=clip(footer, FOOTER_RESERVE))
    return embed
