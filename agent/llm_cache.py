"""Every HTTP exchange with the model: recorded, cached on disk, replayed, and summed into usage and cost.

The openai client (under langchain's ``ChatOpenAI``) is given an ``httpx.Client`` whose transport
is :class:`ExchangeTransport`. For each ``POST .../chat/completions`` it

- computes the request's key, the sha256 of its canonical JSON body (model, messages, tools and
  parameters: everything the answer depends on);
- answers from the replayed transcript (``--replay``), else from the on-disk cache
  (``$CAUSALPILOT_HOME/llm-cache``, successful answers only), else from the server;
- falls back to JSON mode (:mod:`causalpilot.agent.llm_server`) when the server answers 400
  because it takes no tools, and remembers that for the rest of the analysis;
- normalises the answer's tool-call format, and records the exchange (stage, key, status, usage,
  whether it came from the cache, and the body) in the transcript's ``exchanges``.

Replaying those exchanges in order gives the same requests again (tool-call ids included), so a
replayed analysis is byte-identical to the recorded one without any server.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import httpx

from causalpilot.agent.llm_server import (error_text, from_json_mode, is_no_tools_error, normalise_completion,
                                          to_json_mode)
from causalpilot.tools.errors import InputError


def request_key(body: dict) -> str:
    """sha256 of the request's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def default_cache_dir() -> Path:
    """``llm-cache`` beside the memory database (``$CAUSALPILOT_HOME`` or the user data directory)."""
    from causalpilot.memory.store import default_path

    return default_path().parent / "llm-cache"


class ResponseCache:
    """Successful completions on disk, one JSON file per request key. Failures to read or write are
    ignored: the cache only ever saves requests, it never stops an analysis."""

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, response: dict) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(response, ensure_ascii=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass


class Replay:
    """The exchanges of a transcript.json, answered by request key (in recorded order among equal
    keys), else the next unused one in recorded order."""

    def __init__(self, path: str | os.PathLike):
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"Cannot read the transcript '{path}' for --replay ({exc.strerror or exc}).") from exc
        except ValueError as exc:
            raise InputError(f"The transcript '{path}' for --replay is not valid JSON.") from exc
        if not isinstance(data, dict) or not isinstance(data.get("exchanges"), list) or not data["exchanges"]:
            raise InputError(f"The transcript '{path}' records no model exchanges to replay "
                             "(it must be a transcript.json written by `causalpilot analyse` with the LLM planner).")
        self.path = str(path)
        self.config: dict = data.get("config") or {}
        self.run_id: str | None = data.get("run_id")
        self.data_sha256: str | None = data.get("data_sha256")
        self.entries: list[dict] = [e for e in data["exchanges"] if isinstance(e, dict)]
        self._used = [False] * len(self.entries)
        self.unmatched = 0  # requests the recorded run did not make, answered in recorded order
        self._lock = threading.Lock()

    def take(self, key: str) -> dict | None:
        with self._lock:
            for i, e in enumerate(self.entries):
                if not self._used[i] and e.get("key") == key:
                    self._used[i] = True
                    return e
            for i, e in enumerate(self.entries):
                if not self._used[i]:
                    self._used[i] = True
                    self.unmatched += 1
                    return {**e, "replayed_out_of_order": True}
        return None

    def configure(self, cfg: Any) -> None:
        """Make ``cfg`` ask what the recorded run asked: the same model and request parameters."""
        from causalpilot.agent.llm_runtime import rows_to_share

        for name in ("model", "max_tokens", "temperature", "seed", "max_steps", "max_tool_errors", "token_budget",
                     "data_seed"):
            if name in self.config:
                setattr(cfg, name, self.config[name])
        if "share_data" in self.config:
            cfg.share_data = rows_to_share(self.config["share_data"])
        cfg.replay, cfg.model_source = self, "the replayed transcript"



def _is_chat(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.rstrip("/").endswith("/chat/completions")


def _body(payload: Any) -> bytes:
    return payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()


def _response(status: int, payload: Any, headers: dict, request: httpx.Request) -> httpx.Response:
    headers = {"content-type": "application/json", **{k.lower(): v for k, v in headers.items()}}
    return httpx.Response(status, headers=headers, content=_body(payload), request=request)


class ExchangeTransport(httpx.BaseTransport):
    """The HTTP layer of the model client: replay, cache, JSON-mode fallback, format normalisation
    and the record of every exchange (in ``ledger.exchanges``, labelled with ``ledger.stage``)."""

    KEPT_HEADERS = ("retry-after", "retry-after-ms", "x-request-id", "content-type")

    def __init__(self, ledger: Any, cache: ResponseCache | None = None, replay: Replay | None = None,
                 inner: httpx.BaseTransport | None = None):
        self.ledger, self.cache, self.replay = ledger, cache, replay
        self.inner = inner or httpx.HTTPTransport()
        self.json_mode = False  # set once the server has refused tools: the rest of the analysis uses JSON mode

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not _is_chat(request):
            if self.replay is not None:
                return httpx.Response(404, json={"error": {"message": "not recorded"}}, request=request)
            return self.inner.handle_request(request)
        body = json.loads(request.content or b"{}")
        if self.json_mode and body.get("tools"):
            return self._json_mode(request, body)
        status, payload, headers = self._exchange(request, body, json_mode=False)
        if status == 400 and body.get("tools") and is_no_tools_error(error_text(payload)):
            self.json_mode = True
            return self._json_mode(request, body)
        if status == 200 and isinstance(payload, dict):
            payload = normalise_completion(body, payload, request_key(body))
        return _response(status, payload, headers, request)

    def _json_mode(self, request: httpx.Request, body: dict) -> httpx.Response:
        plain = to_json_mode(body)
        status, payload, headers = self._exchange(request, plain, json_mode=True)
        if status == 200 and isinstance(payload, dict):
            payload = from_json_mode(body, payload, request_key(plain))
        return _response(status, payload, headers, request)

    def _record(self, entry: dict) -> None:
        entry = {"stage": getattr(self.ledger, "stage", ""), **entry}
        self.ledger.exchanges.append(entry)

    def _exchange(self, request: httpx.Request, body: dict, json_mode: bool) -> tuple[int, Any, dict]:
        """(status, body as JSON or text, headers) for this body, from the replay, the cache or the server."""
        key = request_key(body)
        base = {"key": key, "json_mode": json_mode}
        if self.replay is not None:
            rec = self.replay.take(key)
            if rec is None:
                self._record({**base, "error": "ReplayExhausted", "cached": False, "replayed": True})
                raise httpx.ConnectError(f"the replayed transcript {self.replay.path} has no more answers",
                                         request=request)
            self._record({**{k: v for k, v in rec.items() if k != "stage"}, **base, "replayed": True})
            if rec.get("error"):
                exc = httpx.ReadTimeout if "Timeout" in str(rec["error"]) else httpx.ConnectError
                raise exc(str(rec.get("message") or rec["error"]), request=request)
            if int(rec.get("status", 200)) == 200:
                _tell(getattr(self.ledger, "on_text", None), rec.get("response"))
            return int(rec.get("status", 200)), rec.get("response"), {}
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self._record({**base, "status": 200, "cached": True, "usage": usage_of(hit), "response": hit})
                _tell(getattr(self.ledger, "on_text", None), hit)
                return 200, hit, {}
        on_text = getattr(self.ledger, "on_text", None)
        # a listener for the reply's words: ask the server to stream, and pass each piece on as it arrives;
        # the key, the cache and the record keep the whole completion, so replay is unchanged
        wire = {**body, "stream": True, "stream_options": {"include_usage": True}} if on_text else body
        sent = httpx.Request(request.method, request.url, extensions=request.extensions, content=_body(wire),
                             headers=[(k, v) for k, v in request.headers.items() if k.lower() != "content-length"])
        try:
            resp = self.inner.handle_request(sent)
            try:
                if on_text and resp.status_code == 200 and "text/event-stream" in resp.headers.get("content-type", ""):
                    payload: Any = assemble_stream(resp.iter_lines(), on_text)
                    raw = None
                else:
                    raw = resp.read()
            finally:
                resp.close()
        except httpx.HTTPError as exc:
            self._record({**base, "error": type(exc).__name__, "message": str(exc)[:300], "cached": False})
            raise
        if raw is not None:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = raw.decode("utf-8", "replace")
            if on_text and resp.status_code == 200:  # the server answered whole: pass the words on at once
                _tell(on_text, payload)
        headers = {k: v for k, v in resp.headers.items() if k.lower() in self.KEPT_HEADERS
                   and not (raw is None and k.lower() == "content-type")}  # a stream assembled is plain JSON
        self._record({**base, "status": resp.status_code, "cached": False,
                      "usage": usage_of(payload) if resp.status_code == 200 else None, "response": payload})
        if resp.status_code == 200 and isinstance(payload, dict) and payload.get("choices") and self.cache is not None:
            self.cache.put(key, payload)
        return resp.status_code, payload, headers


def _tell(on_text: Any, payload: Any) -> None:
    """Pass a whole completion's text to ``on_text`` (an answer from the cache, the replay, or a server
    that does not stream)."""
    if on_text is None or not isinstance(payload, dict):
        return
    try:
        text = payload["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return
    if isinstance(text, str) and text:
        on_text(text)


def assemble_stream(lines: Any, on_text: Any) -> dict:
    """A chat completion streamed as server-sent events (``data: {chunk}`` lines ending with ``data:
    [DONE]``, OpenAI's format, which vLLM, Ollama and llama.cpp's server follow) assembled into the
    one completion the same request answers unstreamed: the text, the tool calls (their pieces joined
    by index), the finish reason and the usage of the last chunk. Each piece of text goes to
    ``on_text`` as it arrives. A line that is not an event, or whose JSON does not parse, is skipped."""
    text: list[str] = []
    calls: dict[int, dict] = {}
    out: dict[str, Any] = {"object": "chat.completion"}
    finish, usage = None, None
    for line in lines:
        line = line.strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except ValueError:
            continue
        for k in ("id", "created", "model", "system_fingerprint"):
            if chunk.get(k) is not None:
                out.setdefault(k, chunk[k])
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            piece = delta.get("content")
            if isinstance(piece, str) and piece:
                text.append(piece)
                on_text(piece)
            for tc in delta.get("tool_calls") or []:
                slot = calls.setdefault(int(tc.get("index", len(calls))), {"id": None, "type": "function",
                                                                           "function": {"name": "", "arguments": ""}})
                slot["id"] = tc.get("id") or slot["id"]
                fn = tc.get("function") or {}
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    out["choices"] = [{"index": 0, "message": message, "finish_reason": finish or ("tool_calls" if calls else "stop")}]
    if usage is not None:
        out["usage"] = usage
    return out


def transport_for(cfg: Any, ledger: Any) -> ExchangeTransport:
    """The transport of one analysis (or chat turn): replay when ``cfg.replay``, else the cache unless
    ``cfg.cache`` is off."""
    if cfg.replay is not None:
        return ExchangeTransport(ledger, replay=cfg.replay)
    cache = ResponseCache(cfg.cache_dir or default_cache_dir()) if cfg.cache else None
    return ExchangeTransport(ledger, cache=cache)


# ---------------------------------------------------------------------------- usage and cost
def usage_of(payload: Any) -> dict | None:
    """{"prompt_tokens", "completion_tokens"} from a completion's ``usage`` field, or None if absent."""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if not isinstance(usage, dict):
        return None
    return {"prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or 0)}


def usage_summary(exchanges: list[dict], price_in: float | None = None, price_out: float | None = None) -> dict:
    """Token usage per request, per stage and in total; cost in USD when both prices are given.

    Prices are USD per million tokens (CAUSALPILOT_PRICE_IN for prompt tokens, CAUSALPILOT_PRICE_OUT
    for completion tokens). Answers from the cache are counted as requests but cost nothing, so their
    tokens are not added to the totals. A server that reports no usage adds zero tokens.
    """
    priced = price_in is not None and price_out is not None

    def tally(rows: list[dict]) -> dict:
        sent = [r for r in rows if not r["cached"]]
        p = sum(r["prompt_tokens"] for r in sent)
        c = sum(r["completion_tokens"] for r in sent)
        out = {"requests": len(rows), "cached": len(rows) - len(sent), "prompt_tokens": p, "completion_tokens": c}
        if priced:
            out["cost_usd"] = round((p * price_in + c * price_out) / 1e6, 6)
        return out

    rows = []
    for e in exchanges:
        u = e.get("usage") or {}
        rows.append({"stage": e.get("stage") or "", "status": e.get("status", e.get("error")),
                     "cached": bool(e.get("cached")), "json_mode": bool(e.get("json_mode")),
                     "prompt_tokens": int(u.get("prompt_tokens") or 0),
                     "completion_tokens": int(u.get("completion_tokens") or 0)})
    stages: dict[str, list[dict]] = {}
    for r in rows:
        stages.setdefault(r["stage"], []).append(r)
    return {"stages": {s: tally(rs) for s, rs in stages.items()}, "total": tally(rows),
            "prices_usd_per_million": {"input": price_in, "output": price_out} if priced else None,
            "requests": rows}
