"""trafilatura in a child process that is killed at a deadline, so no page can hold a thread for long.

Why a process: trafilatura's time grows faster than linearly with some shapes of markup (one paragraph of 16,000
links took 38 s, of 49,000 over 120 s), and a thread cannot be stopped. Caps on tags or links only cover the shapes
someone measured; a deadline covers them all. The children are started once (with `spawn`, never `fork`: the bot
has threads) and reused, so a normal page costs a round trip through a pipe, not a process start; one that misses
its deadline is killed and replaced on the next call.
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from retrieval.errors import BadInputError

PARSE_DEADLINE_S = 5.0  # a real article takes 5-50 ms; a 4,000-link page about 1-2 s on a busy 2-core machine
START_DEADLINE_S = 60.0  # a child's start-up (importing trafilatura), which no page controls
IDLE_CHILDREN = 4  # children kept for reuse; more run at once only while more threads parse

Extracted = tuple[str | None, str | None]  # (trafilatura's JSON output, the site's own name)


def _serve(conn: Connection) -> None:
    """The child: extract each page it is sent until the pipe closes."""
    import trafilatura

    conn.send("ready")
    while True:
        try:
            html, url = conn.recv()
        except EOFError:
            return
        try:
            extracted = trafilatura.extract(
                html, url=url, output_format="json", with_metadata=True, include_comments=False, favor_precision=True
            )
            typed = trafilatura.extract_metadata(html, default_url=url)
            conn.send((extracted, typed.sitename if typed else None))
        except Exception as exc:  # any failure of the parser is this page's failure, sent back
            conn.send(exc.__class__.__name__)


class _Child:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(theirs,), daemon=True, name="newsdesk-parse")
        self.process.start()
        theirs.close()
        if not self.conn.poll(START_DEADLINE_S) or self.conn.recv() != "ready":
            self.kill()
            raise BadInputError("The page reader could not start; try again later.")

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


_idle: list[_Child] = []
_idle_lock = threading.Lock()


def extract_page(html: str, url: str | None, source: str, deadline_s: float = PARSE_DEADLINE_S) -> Extracted:
    """trafilatura's JSON and the site name for `html`; BadInputError when reading it takes over `deadline_s`."""
    with _idle_lock:
        child = _idle.pop() if _idle else None
    child = child or _Child()
    try:
        child.conn.send((html, url))
        if not child.conn.poll(deadline_s):
            raise TimeoutError
        reply = child.conn.recv()
    except (TimeoutError, EOFError, OSError):
        child.kill()
        raise BadInputError(
            f"{source} took more than {deadline_s:g} s to read (its markup is too complex), so it was skipped."
        ) from None
    with _idle_lock:
        keep = len(_idle) < IDLE_CHILDREN
        if keep:
            _idle.append(child)
    if not keep:
        child.kill()
    if isinstance(reply, str):
        raise BadInputError(f"{source} could not be read ({reply}).")
    return reply
