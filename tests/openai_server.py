"""A small OpenAI-compatible chat server on 127.0.0.1 that replays a script, for wire-level LLM tests.

Each request consumes the next step of the script (the last step repeats). A step's content may name sources by a
word of their title, "{Hikvision}", which the server resolves to that source's number in the prompt it received:
the same way a real model reads the numbered sources.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.loopback import LoopbackServer


@dataclass
class Step:
    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: bytes | None = None  # a malformed body sent as is
    chunk_delay_s: float = 0.0  # when streaming, the pause before each word: a model writing at a realistic rate


@dataclass
class FakeLLM:
    port: int
    script: list[Step]
    requests: list[dict] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def prompt(self, i: int = -1) -> str:
        return "\n".join(m["content"] for m in self.requests[i]["messages"])


def _resolve(content: str, prompt: str) -> str:
    numbers = {m.group(2): m.group(1) for m in re.finditer(r'<source n="(\d+)" title="([^"]*)"', prompt)}

    def number(match: re.Match) -> str:
        word = match.group(1)
        return next((n for title, n in numbers.items() if word.lower() in title.lower()), "99")

    return re.sub(r"\{(\w+)\}", number, content)


def _completion(content: str, model: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _chunk(delta: dict, model: str, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


@contextmanager
def fake_llm(*script: Step) -> Iterator[FakeLLM]:
    llm = FakeLLM(0, list(script))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            llm.requests.append(body)
            step = llm.script[min(len(llm.requests) - 1, len(llm.script) - 1)]
            if step.delay_s:
                time.sleep(step.delay_s)
            content = _resolve(step.content, "\n".join(m["content"] for m in body["messages"]))
            if step.status != 200:
                payload = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
                self._send(step.status, payload, {"Content-Type": "application/json", **step.headers})
            elif step.raw is not None:
                self._send(200, step.raw, {"Content-Type": "application/json"})
            elif body.get("stream"):
                self._stream(content, body["model"], step.chunk_delay_s)
            else:
                self._send(
                    200, json.dumps(_completion(content, body["model"])).encode(), {"Content-Type": "application/json"}
                )

        def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, content: str, model: str, chunk_delay_s: float) -> None:
            words = [_chunk({"content": word}, model) for word in re.findall(r"\S+\s*", content)]
            head = _chunk({"role": "assistant", "content": ""}, model)
            tail = _chunk({}, model, "stop") + b"data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(head) + sum(map(len, words)) + len(tail)))
            self.end_headers()
            self.wfile.write(head)
            for word in words:
                if chunk_delay_s:
                    self.wfile.flush()
                    time.sleep(chunk_delay_s)
                self.wfile.write(word)
            self.wfile.write(tail)

        def log_message(self, *args: object) -> None:
            pass

    server = LoopbackServer(("127.0.0.1", 0), Handler)
    llm.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield llm
    finally:
        server.shutdown()
        server.server_close()
