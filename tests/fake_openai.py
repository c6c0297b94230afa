"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

Serves ``POST /v1/chat/completions`` and ``POST /v1/embeddings`` from a thread, one thread per
connection (HTTP/1.1 keep-alive), so 20+ concurrent clients are served in parallel. Each chat
request takes the next :class:`Behaviour` from the script queue (or the default when the queue is
empty): a JSON answer, raw text (malformed JSON), an HTTP error status, or a delay longer than the
client's timeout. Every received body is recorded so a test can read exactly what left the client.

When the request carries ``tools`` (instructor's TOOLS mode) the answer is returned as a tool call
to the forced/first tool; otherwise it is the message ``content`` (instructor's JSON modes). For
tool-calling agents, :func:`calls` scripts explicit tool calls and :func:`say` a plain final message.
A request with ``"stream": true`` gets the same answer as server-sent chat-completion chunks.

Run standalone (the benchmark does, to keep the server off the client's GIL)::

    python tests/fake_openai.py --port 0 --delay 0.1 --answer '{"x": 1}'
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Behaviour", "FakeOpenAI", "calls", "error", "html", "no_choices", "ok", "raw", "say", "slow"]


@dataclass
class Behaviour:
    """One scripted response. ``content`` is a JSON-able object (sent as JSON text) or a raw string."""

    status: int = 200
    content: Any = None
    delay: float = 0.0
    retry_after: float | None = None
    tool_calls: list[dict[str, Any]] | None = None  # explicit calls [{"name", "arguments"}] (agent loops)
    message: bool = False  # answer with ``content`` as text even when the request carries tools
    body: str | None = None  # sent as-is as a text/html page instead of a chat completion
    no_choices: bool = False  # a chat completion envelope with an empty ``choices`` list


def ok(content: Any, delay: float = 0.0) -> Behaviour:
    """A 200 answer whose text is ``json.dumps(content)`` (or ``content`` itself if a string)."""
    return Behaviour(200, content, delay)


def raw(text: str, delay: float = 0.0) -> Behaviour:
    """A 200 answer with exactly this text, e.g. malformed JSON."""
    return Behaviour(200, text, delay)


def error(status: int, retry_after: float | None = None) -> Behaviour:
    """An HTTP error (429, 500, ...) with an OpenAI-style error body."""
    return Behaviour(status, None, 0.0, retry_after)


def slow(seconds: float, content: Any = None) -> Behaviour:
    """Wait ``seconds`` before answering (longer than the client timeout to force a retry)."""
    return Behaviour(200, content, seconds)


def calls(*named: tuple[str, dict[str, Any]]) -> Behaviour:
    """An assistant turn that calls these tools, ``(name, arguments)`` each (a tool-calling agent's step)."""
    return Behaviour(200, None, tool_calls=[{"name": n, "arguments": a} for n, a in named])


def html(page: str = "<html><body><h1>502 Bad Gateway</h1></body></html>") -> Behaviour:
    """A 200 answer that is an HTML page (a proxy's error page), not a chat completion."""
    return Behaviour(200, body=page)


def no_choices() -> Behaviour:
    """A 200 chat completion with ``choices: []`` (some servers under load answer so)."""
    return Behaviour(200, no_choices=True)


def say(text: str) -> Behaviour:
    """A plain assistant message, even when the request offers tools (an agent's final answer)."""
    return Behaviour(200, text, message=True)


Responder = Callable[[dict[str, Any]], Behaviour]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops SYNs when 20+ clients connect at once


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _embedding(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    while len(digest) < dim:
        digest += hashlib.sha256(digest).digest()
    vec = [b / 255.0 - 0.5 for b in digest[:dim]]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


class FakeOpenAI:
    """Start with :meth:`start` (or use as a context manager); ``base_url`` ends with ``/v1``.

    Script with :meth:`script` (consumed in order); when the queue is empty ``default`` is used,
    which may be a :class:`Behaviour` or a callable ``(request_body) -> Behaviour``.
    """

    def __init__(self, default: Behaviour | Responder | None = None, *, delay: float = 0.0,
                 embedding_dim: int = 16, port: int = 0) -> None:
        self.default: Behaviour | Responder = default or ok({})
        self.delay = delay  # added to every chat response (benchmark latency)
        self.embedding_dim = embedding_dim
        self.requests: list[dict[str, Any]] = []  # chat bodies, in arrival order
        self.embedding_requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0  # most chat requests being served at the same time
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def count(self) -> int:
        """Number of chat-completion requests received (including failed and timed-out ones)."""
        with self._lock:
            return len(self.requests)

    def script(self, *behaviours: Behaviour) -> FakeOpenAI:
        with self._lock:
            self._queue.extend(behaviours)
        return self

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.embedding_requests.clear()

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes slow handlers
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling ---------------------------------------------------------------------
    def _next(self, body: dict[str, Any]) -> Behaviour:
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self._queue:
                return self._queue.popleft()
        return self.default(body) if callable(self.default) else self.default

    def _chat(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str], float]:
        b = self._next(body)
        delay = b.delay + self.delay
        if b.status != 200:
            headers = {"Retry-After": str(b.retry_after)} if b.retry_after is not None else {}
            payload = {"error": {"message": f"scripted {b.status}", "type": "scripted", "code": b.status}}
            return b.status, payload, headers, delay
        if b.body is not None:
            return 200, {"__html__": b.body}, {}, delay
        text = b.content if isinstance(b.content, str) else json.dumps(b.content)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
        tools = body.get("tools") or []
        if b.tool_calls is not None:
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{len(self.requests)}_{i}", "type": "function",
                 "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                for i, c in enumerate(b.tool_calls)]}
            finish, text = "tool_calls", json.dumps(b.tool_calls)
        elif tools and not b.message:
            choice = body.get("tool_choice")
            name = choice["function"]["name"] if isinstance(choice, dict) else tools[0]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": name, "arguments": text}}]}
            finish = "tool_calls"
        prompt = json.dumps(body.get("messages", []))
        usage = {"prompt_tokens": _tokens(prompt), "completion_tokens": _tokens(text)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        payload = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
                   "created": int(time.time()), "model": body.get("model", "fake"),
                   "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}
        if b.no_choices:
            payload["choices"] = []
        return 200, payload, {}, delay

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.embedding_requests.append(body)
        inputs = body.get("input", [])
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        data = [{"object": "embedding", "index": i, "embedding": _embedding(str(t), self.embedding_dim)}
                for i, t in enumerate(inputs)]
        n = sum(_tokens(str(t)) for t in inputs)
        return {"object": "list", "data": data, "model": body.get("model", "fake"),
                "usage": {"prompt_tokens": n, "total_tokens": n}}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms per response

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                path = self.path.rstrip("/")
                if path.endswith("/chat/completions"):
                    try:
                        status, payload, headers, delay = server._chat(body)
                        if body.get("stream") and status == 200:
                            self._stream(payload, delay)
                        else:
                            self._reply(status, payload, headers, delay)
                    finally:
                        with server._lock:
                            server.in_flight -= 1
                elif path.endswith("/embeddings"):
                    self._reply(200, server._embeddings(body), {}, 0.0)
                else:
                    self._reply(404, {"error": {"message": f"no route {self.path}"}}, {}, 0.0)

            def _stream(self, payload: dict[str, Any], delay: float) -> None:
                """The completion as server-sent events (``stream: true``): one delta, the finish, the usage."""
                if delay and server._stop.wait(delay):
                    return
                choice = payload["choices"][0]
                message = choice["message"]
                delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
                if message.get("tool_calls"):
                    delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
                head = {k: payload[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
                events = [{**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                          {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]},
                          {**head, "choices": [], "usage": payload["usage"]}]
                data = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str], delay: float) -> None:
                if delay and server._stop.wait(delay):
                    return
                page = payload.get("__html__")
                data = page.encode() if isinstance(page, str) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html" if isinstance(page, str) else "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): expected for slow behaviours

        return Handler


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--answer", default="{}", help="JSON text every chat request answers with")
    args = parser.parse_args()
    server = FakeOpenAI(raw(args.answer), delay=args.delay, port=args.port).start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    _main()
