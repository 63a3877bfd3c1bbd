"""Offline stand-ins for an LLM: a scripted langchain chat model and a local OpenAI-compatible server.

The server speaks just enough of ``POST /v1/chat/completions`` and ``GET /v1/models`` for the real
``openai`` client (through langchain_openai) to run against it on 127.0.0.1. In mode ``script`` it
plays a plausible analyst: it reads the stage from the prompt and answers with tool calls (for the
analysis: knowledge, PC and GES under two names, a comparison, a query, an estimate and finish), then
a final answer, in one of the tool-call formats of FORMATS (as OpenAI, Hermes/Qwen text, a bare JSON
object, the legacy function_call field, arguments as an object, a server without tool support, a
small context window). The other modes inject faults (timeouts, 429, 500, invalid bodies, malformed
or endless tool calls).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult


class ScriptedChatModel(BaseChatModel):
    """Answers from a script: each entry is an AIMessage or a function of the messages returning one."""

    script: list[Any]
    calls: list[list[Any]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):  # the agent binds tools; the script already knows them
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls.append(list(messages))
        if not self.script:
            raise RuntimeError("script exhausted")
        step = self.script.pop(0)
        msg = step(messages) if callable(step) else step
        return ChatResult(generations=[ChatGeneration(message=msg)])


def tool_call(name: str, args: dict, k: int = 0) -> dict:
    return {"name": name, "args": args, "id": f"call_{name}_{k}", "type": "tool_call"}


# ---------------------------------------------------------------------------- the HTTP server
def _data_blocks(text: str) -> list[Any]:
    out = []
    for block in re.findall(r"<data>(.*?)</data>", text, flags=re.S):
        try:
            out.append(json.loads(block))
        except json.JSONDecodeError:
            out.append(block)
    return out


def made_calls(msgs: list[dict]) -> list[tuple[str, str]]:
    """The tool calls made so far, as (name, arguments as canonical JSON): standard tool_calls, or JSON
    actions written as text (JSON mode)."""
    def canonical(args: Any) -> str:
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                return args
        return json.dumps(args, sort_keys=True)

    out = []
    for m in msgs:
        if m["role"] != "assistant":
            continue
        out += [(tc["function"]["name"], canonical(tc["function"].get("arguments") or {}))
                for tc in m.get("tool_calls") or []]
        for line in (m.get("content") or "").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and "name" in obj:
                out.append((obj["name"], canonical(obj.get("arguments") or {})))
    return out


def calls_made(msgs: list[dict]) -> list[str]:
    """The names of the tools called so far (see :func:`made_calls`)."""
    return [name for name, _ in made_calls(msgs)]


def not_made(calls: list[tuple[str, dict]], msgs: list[dict]) -> list[tuple[str, dict]]:
    """The calls of ``calls`` not made yet (same name and arguments)."""
    made = made_calls(msgs)
    return [c for c in calls if (c[0], json.dumps(c[1], sort_keys=True)) not in made]


def analyst_calls(user: str) -> list[list[tuple[str, dict]]]:
    """A good analyst's calls, in two turns: knowledge and two methods under two names; then compare,
    query the outcome's parents, estimate the effect on one graph and finish with it."""
    blocks = _data_blocks(user)
    variables = blocks[2] if "The effect the user asked for" in user else blocks[1]
    t, y = ("X1", "X3") if {"X1", "X3"} <= set(variables) else (variables[0], variables[-1])
    return [[("propose_background", {"forbidden": [{"source": y, "target": t}],
                                     "reason": f"{y} is measured after {t}"}),
             ("run_discovery", {"algorithm": "pc", "params": {"alpha": 0.01, "indep_test": "fisherz"},
                                "graph_name": "pc_strict"}),
             ("run_discovery", {"algorithm": "ges", "graph_name": "ges"})],
            [("compare_graphs", {"first": "pc_strict", "second": "ges"}),
             ("query_graph", {"graph_name": "pc_strict", "query": "parents", "node": y}),
             ("estimate_effect", {"graph_name": "pc_strict", "treatment": t, "outcome": y}),
             ("finish", {"graph_name": "pc_strict", "summary": "PC with a strict alpha; GES finds the same skeleton"})]]


def task_prompt(msgs: list[dict]) -> str:
    """The task the stage was given: the first user message that starts with "Task:" (a chat turn sends
    earlier turns before it), else the first user message."""
    users = [m.get("content") or "" for m in msgs if m["role"] == "user"]
    return next((u for u in users if u.startswith("Task:")), users[0] if users else "")


def scripted_reply(body: dict) -> dict:
    """A plausible analyst: stage read from the first user message; tools first, then a final answer."""
    msgs = body["messages"]
    user = task_prompt(msgs)
    made = calls_made(msgs)

    def called(*names: str) -> bool:  # did the model already make one of these calls (not just any call)?
        return any(n in names for n in made)

    if user.startswith("Task: analyse"):
        for turn in analyst_calls(user):  # the first turn with calls not made yet (one-call formats take several)
            left = not_made(turn, msgs)
            if left:
                return {"tool_calls": left}
        return {"content": "Finished with PC at a strict alpha."}
    if user.startswith("Task: the user of a causal-analysis chat"):
        if called("use_algorithm", "forbid_edges_into", "estimate_effect"):
            return {"content": "Done."}
        message = _data_blocks(user)[-1].lower()
        if "fci" in message:
            return {"tool_calls": [("use_algorithm", {"algorithm": "fci"})]}
        m = re.search(r"into (\w+)", message)
        if m:
            return {"tool_calls": [("forbid_edges_into", {"column": m.group(1).upper()})]}
        m = re.search(r"effect of (\w+) on (\w+)", message)
        if m:
            return {"tool_calls": [("estimate_effect", {"treatment": m.group(1).upper(),
                                                        "outcome": m.group(2).upper()})]}
        return {"content": "No change."}
    if "narrative" in user:
        return {"content": json.dumps({"summary": "X1 affects X3 through X2. <script>alert(1)</script>",
                                       "caveats": ["Assumes no hidden confounders."]})}
    return {"content": "ok"}


FORMATS = ["tool_calls", "hermes", "bare_json", "function_call", "object_args", "no_tools", "context"]
NO_TOOLS = {"error": {"message": "registry.ollama.ai/library/tiny:1b does not support tools", "type": "api_error"}}
TOO_LONG = {"error": {"message": "This model's maximum context length is 2048 tokens. However, you requested 5000 "
                                 "tokens. Please reduce the length of the messages.",
                      "type": "BadRequestError", "code": "context_length_exceeded"}}


def in_format(fmt: str, reply: dict, body: dict) -> tuple[int, dict]:
    """The scripted reply as a server of that format would send it: (status, body)."""
    calls = reply.get("tool_calls") or []
    if fmt in ("no_tools", "bare_json", "function_call"):  # formats of one call per turn: the next one not made yet
        calls = not_made(calls, body["messages"])[:1] or calls[:1]
    if fmt == "no_tools":
        if body.get("tools"):
            return 400, NO_TOOLS
        if calls:  # JSON mode: one action object per turn
            name, args = calls[0]
            return 200, completion({"content": json.dumps({"name": name, "arguments": args})})
        if reply.get("content") and any("cannot call tools natively" in (m.get("content") or "")
                                        for m in body["messages"] if m["role"] == "system"):
            return 200, completion({"content": json.dumps({"answer": reply["content"]})})
        return 200, completion(reply)
    if not calls or fmt in ("tool_calls", "context"):
        return 200, completion(reply)
    if fmt == "hermes":
        text = "\n".join(f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>" for n, a in calls)
        return 200, completion({"content": "Let me call the tools.\n" + text})
    if fmt == "bare_json":
        name, args = calls[0]
        return 200, completion({"content": json.dumps({"name": name, "arguments": args})})
    if fmt == "function_call":
        out = completion({"content": None})
        name, args = calls[0]
        out["choices"][0]["message"]["function_call"] = {"name": name, "arguments": json.dumps(args)}
        out["choices"][0]["finish_reason"] = "function_call"
        return 200, out
    if fmt == "object_args":
        out = completion(reply)
        for tc, (_, args) in zip(out["choices"][0]["message"]["tool_calls"], calls):
            tc["function"]["arguments"] = args
        return 200, out
    raise ValueError(fmt)


def completion(reply: dict, model: str = "fake-model") -> dict:
    msg: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if reply.get("tool_calls"):
        msg["tool_calls"] = [
            {"id": f"call_{k}_{int(time.time() * 1e6) % 10**9}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for k, (name, args) in enumerate(reply["tool_calls"])]
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": msg,
                         "finish_reason": "tool_calls" if reply.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}


class FakeOpenAIServer:
    """``with FakeOpenAIServer(mode) as srv: os.environ['OPENAI_BASE_URL'] = srv.url``."""

    def __init__(self, mode: str = "script", reply: Callable[[dict], dict] = scripted_reply, delay_s: float = 5.0,
                 fmt: str = "tool_calls", models: list[str] | None = None, max_prompt_chars: int = 8000,
                 stream: bool = False):
        """``fmt``: one of FORMATS (mode ``script`` only); ``models``: what GET /models lists (None: 404);
        ``max_prompt_chars``: the first user message beyond which format ``context`` answers 400;
        ``stream``: answer a request that asks for a stream as server-sent events, a few characters per
        event (OpenAI's chunk format), as vLLM, Ollama and llama.cpp's server do."""
        self.mode, self.reply, self.delay_s, self.fmt, self.stream = mode, reply, delay_s, fmt, stream
        self.models, self.max_prompt_chars = models, max_prompt_chars
        self.model_queries = 0
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                with outer._lock:
                    outer.model_queries += 1
                if self.path.rstrip("/").endswith("/models") and outer.models is not None:
                    self._send(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "me"}
                                                                 for m in outer.models]}, {})
                else:
                    self._send(404, {"error": {"message": "not found"}}, {})

            def _send(self, status, payload, headers):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for h, v in headers.items():
                        self.send_header(h, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                with outer._lock:
                    outer.requests.append(body)
                    k = len(outer.requests)
                status, payload, headers = outer.respond(body, k)
                if status == -1:  # hang: longer than the client's timeout
                    time.sleep(outer.delay_s)
                    status, payload, headers = 200, completion({"content": "late"}), {}
                with outer._lock:
                    outer.statuses.append(status)
                if outer.stream and body.get("stream") and status == 200:
                    self._send_events(payload)
                else:
                    self._send(status, payload, headers)

            def _send_events(self, payload):
                msg = payload["choices"][0]["message"]
                base = {k: payload[k] for k in ("id", "created", "model")}
                events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
                text = msg.get("content") or ""
                events += [{"choices": [{"index": 0, "delta": {"content": text[i:i + 7]}}]} for i in range(0, len(text), 7)]
                for k, tc in enumerate(msg.get("tool_calls") or []):  # each call's arguments in two pieces
                    args = tc["function"]["arguments"]
                    cut = len(args) // 2
                    events.append({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": k, "id": tc["id"], "type": "function",
                                   "function": {"name": tc["function"]["name"], "arguments": args[:cut]}}]}}]})
                    events.append({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": k, "function": {"arguments": args[cut:]}}]}}]})
                events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": payload["choices"][0]["finish_reason"]}]})
                events.append({"choices": [], "usage": payload["usage"]})
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for e in events:
                        self.wfile.write(f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', **e})}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def respond(self, body: dict, k: int) -> tuple[int, Any, dict]:
        m = self.mode
        if m == "script":
            user = next((x.get("content") or "" for x in body["messages"] if x["role"] == "user"), "")
            if self.fmt == "context" and len(user) > self.max_prompt_chars:
                return 400, TOO_LONG, {}
            status, payload = in_format(self.fmt, self.reply(body), body)
            return status, payload, {}
        if m == "plan_fails":  # every analysing answer is an invalid discovery; the other stages work
            if next(x["content"] for x in body["messages"] if x["role"] == "user").startswith("Task: analyse"):
                bad = ("run_discovery", {"algorithm": "magic", "graph_name": "g"})
                return 200, completion({"tool_calls": [bad]}), {}
            return 200, completion(self.reply(body)), {}
        if m == "timeout":
            return -1, None, {}
        if m == "429_then_ok":
            if k == 1:
                return 429, {"error": {"message": "rate limited", "type": "rate_limit"}}, {"retry-after-ms": "50"}
            return 200, completion(self.reply(body)), {}
        if m == "500":
            return 500, {"error": {"message": "internal", "type": "server_error"}}, {"retry-after-ms": "50"}
        if m == "bad_body":
            return 200, b"{this is not json", {}
        if m == "bad_args":
            return 200, completion({"tool_calls": [("run_discovery", '{"algorithm": "pc", ')]}), {}
        if m == "unknown_tool":
            return 200, completion({"tool_calls": [("run_shell", {"cmd": "rm -rf /"})]}), {}
        if m == "wrong_args":
            return 200, completion({"tool_calls": [("run_discovery", {"algo": 3})]}), {}
        if m == "bad_plan":
            return 200, completion({"tool_calls": [("run_discovery", {"algorithm": "magic", "graph_name": "g"})]}), {}
        if m == "unknown_then_ok":  # one bad call, fed back; then the normal script
            if k == 1:
                return 200, completion({"tool_calls": [("run_shell", {"cmd": "ls"})]}), {}
            return 200, completion(self.reply(body)), {}
        if m == "loop":
            return 200, completion({"tool_calls": [("list_algorithms", {})]}), {}
        raise ValueError(m)

    def __enter__(self) -> "FakeOpenAIServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
