"""The dialects of OpenAI-compatible servers (OpenAI, vLLM, Ollama, llama.cpp) and how to read them.

- :func:`served_models` asks ``GET {base_url}/models`` once per process; :func:`resolve_model` uses
  it to pick the server's only model when ``CAUSALPILOT_MODEL`` is unset and to reject, with one
  sentence, a named model that the server does not serve.
- :func:`normalise_completion` turns every tool-call format seen from local models into the
  standard ``tool_calls`` field: calls written as text (Hermes/Qwen ``<tool_call>{...}</tool_call>``,
  a bare ``{"name": ..., "arguments": ...}`` object or a list of them), the legacy ``function_call``
  field, and ``arguments`` sent as a JSON object instead of a string.
- :func:`to_json_mode` / :func:`from_json_mode` replace native tool calling for a server that
  answers 400 to a request with tools: the tools are described in the system message and the model
  answers with one JSON action object per turn, which becomes a standard tool call again (so the
  same pydantic schemas and tool functions validate it).
- :func:`is_context_error` / :func:`is_no_tools_error` read a 400's message.

Everything here works on the JSON bodies of the Chat Completions API (see
https://platform.openai.com/docs/api-reference/chat); nothing the model writes is executed.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any

from causalpilot.tools.errors import InputError

OPENAI_URL = "https://api.openai.com/v1"
PROBE_TIMEOUT_S = 10.0

_models: dict[str, list[str] | None] = {}  # base URL -> the ids it lists (None: no answer), once per process
_models_lock = threading.Lock()


def served_models(base_url: str | None, api_key: str | None, timeout_s: float = PROBE_TIMEOUT_S) -> list[str] | None:
    """The model ids ``GET {base_url}/models`` lists, or None when the server does not answer it.

    A 404, a refused connection, a timeout or a body that is not the API's list all give None (the
    caller then keeps the configured model). Asked once per process and base URL. Uses httpx, the
    openai client's own HTTP library.
    """
    import httpx

    url = (base_url or OPENAI_URL).rstrip("/")
    with _models_lock:
        if url in _models:
            return _models[url]
    ids: list[str] | None = None
    try:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        r = httpx.get(f"{url}/models", headers=headers, timeout=timeout_s)
        if r.status_code == 200:
            data = r.json().get("data")
            ids = [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")] if isinstance(data, list) else None
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        ids = None
    with _models_lock:
        _models[url] = ids
    return ids


def _is_served(name: str, ids: list[str]) -> bool:
    # Ollama lists "llama3.1:latest" and serves it as "llama3.1" too
    return name in ids or f"{name}:latest" in ids


def resolve_model(cfg: Any) -> None:
    """Settle ``cfg.model`` against the server's list (once per config); sets ``cfg.model_source``.

    Raises:
        InputError: the model named by CAUSALPILOT_MODEL is not listed, or the server lists several
            models and not the default one (so no model can be chosen without the user).
    """
    if cfg.model_source or cfg.replay is not None or not cfg.configured():
        return
    url = (cfg.base_url or OPENAI_URL).rstrip("/")
    ids = served_models(cfg.base_url, cfg.api_key, min(cfg.timeout_s, PROBE_TIMEOUT_S))
    named = "CAUSALPILOT_MODEL" if cfg.model_named else "the default"
    if not ids:
        cfg.model_source = f"{named} (the server lists no models)"
        return
    shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
    if cfg.model_named:
        if not _is_served(cfg.model, ids):
            raise InputError(f"The model '{cfg.model}' named by CAUSALPILOT_MODEL is not served by {url}, "
                             f"which serves {shown}.")
        cfg.model_source = "CAUSALPILOT_MODEL"
    elif len(ids) == 1:
        cfg.model, cfg.model_source = ids[0], "the server's only model"
    elif _is_served(cfg.model, ids):
        cfg.model_source = "the default"
    else:
        raise InputError(f"The server at {url} serves {len(ids)} models ({shown}) and not the default "
                         f"'{cfg.model}'; name one with CAUSALPILOT_MODEL.")


# ---------------------------------------------------------------------------- error messages
def error_text(payload: Any) -> str:
    """The message of an API error body ({"error": {"message": ...}} or anything else), lower-cased."""
    if isinstance(payload, dict):
        err = payload.get("error", payload)
        if isinstance(err, dict):
            return " ".join(str(err.get(k) or "") for k in ("message", "type", "code")).lower()
        return str(err).lower()
    return str(payload).lower()


_CONTEXT = ("context length", "context_length", "context window", "context size", "maximum context",
            "exceed_context", "too many tokens", "prompt is too long", "n_ctx", "input is too long")


def is_context_error(text: str) -> bool:
    """A 400 saying the prompt does not fit the model's context (vLLM, llama.cpp, OpenAI wordings)."""
    t = text.lower()
    return any(p in t for p in _CONTEXT)


def is_no_tools_error(text: str) -> bool:
    """A 400 saying the server or model cannot take tools (Ollama "does not support tools", vLLM
    "--enable-auto-tool-choice", llama.cpp "--jinja"), as opposed to a prompt that is too long."""
    t = text.lower()
    if is_context_error(t):
        return False
    if "jinja" in t or "enable-auto-tool-choice" in t:
        return True
    return ("tool" in t or "function" in t) and any(
        p in t for p in ("support", "not allowed", "unrecognized", "unknown field", "extra fields", "unexpected",
                         "not implemented", "invalid"))


# ---------------------------------------------------------------------------- tool-call formats
_TAGGED = r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)"  # patterns for re.findall/match/sub with re.S
_FENCE = r"^```(?:json)?\s*(.*?)\s*```$"


def _strip(text: str) -> str:
    text = text.strip()
    if text.startswith("[TOOL_CALLS]"):  # Mistral's marker
        text = text[len("[TOOL_CALLS]"):].strip()
    m = re.match(_FENCE, text, flags=re.S)
    return m.group(1).strip() if m else text


def _as_call(obj: Any, tools: set[str] | None) -> dict | None:
    """{"name", "arguments"|"parameters"} (or OpenAI's {"function": {...}}): a call of an offered tool,
    or of any name when ``tools`` is None (the text was explicitly marked as a call)."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or (tools is not None and name not in tools):
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    return {"name": name, "arguments": args}


def calls_in_text(text: str, tools: set[str]) -> tuple[list[dict], str] | None:
    """Tool calls a model wrote as text, with the text left around them; None when there are none.

    A ``<tool_call>`` block that is not valid JSON is kept as a call with its raw text as arguments,
    so the agent reports it to the model as a malformed call instead of taking it for an answer.
    """
    blocks = re.findall(_TAGGED, text, flags=re.S)
    if blocks:
        calls = []
        for b in blocks:
            try:
                call = _as_call(json.loads(_strip(b)), None)
            except json.JSONDecodeError:
                call = None
            if call is None:
                name = re.search(r'"name"\s*:\s*"([^"]+)"', b)
                call = {"name": name.group(1) if name else "unparsed_tool_call", "arguments": b}
            calls.append(call)
        return calls, re.sub(_TAGGED, "", text, flags=re.S).strip()
    body = _strip(text)
    if not body or body[0] not in "[{":
        return None
    try:
        obj = json.loads(body)
    except json.JSONDecodeError:
        return None
    objs = obj if isinstance(obj, list) else [obj]
    calls = [_as_call(o, tools) for o in objs]
    if not calls or any(c is None for c in calls):
        return None
    return calls, ""


def _call_id(key: str, choice: int, k: int) -> str:
    # deterministic, so that a replayed or cached answer leads to the same next request
    return "call_" + hashlib.sha256(f"{key}:{choice}:{k}".encode()).hexdigest()[:20]


def offered_tools(request: dict) -> set[str]:
    return {t["function"]["name"] for t in request.get("tools") or []
            if isinstance(t, dict) and isinstance(t.get("function"), dict) and t["function"].get("name")}


def normalise_completion(request: dict, response: dict, key: str) -> dict:
    """The response with every tool call in the standard ``tool_calls`` shape (in place; returned).

    ``key`` (the request's cache key) seeds the ids given to calls that came without one.
    """
    tools = offered_tools(request)
    for ci, choice in enumerate(response.get("choices") or []):
        msg = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(msg, dict):
            continue
        raw = list(msg.get("tool_calls") or [])
        legacy = msg.pop("function_call", None)
        if legacy and not raw:
            raw = [{"type": "function", "function": legacy}]
        if not raw and tools and isinstance(msg.get("content"), str):
            found = calls_in_text(msg["content"], tools)
            if found is not None:
                raw = [{"type": "function", "function": c} for c in found[0]]
                msg["content"] = found[1] or None
        if not raw:
            continue
        calls = []
        for k, c in enumerate(raw):
            fn = dict(c.get("function") or {}) if isinstance(c, dict) else {}
            args = fn.get("arguments")
            if args is None or args == "":
                args = "{}"
            elif not isinstance(args, str):
                args = json.dumps(args)
            calls.append({"id": (c.get("id") if isinstance(c, dict) else None) or _call_id(key, ci, k),
                          "type": "function", "function": {"name": str(fn.get("name") or ""), "arguments": args}})
        msg["tool_calls"] = calls
        choice["finish_reason"] = "tool_calls"
    return response


# ---------------------------------------------------------------------------- JSON mode
JSON_MODE_NOTE = (
    "This server cannot call tools natively, so you call them by writing JSON. Answer every turn with "
    "exactly one JSON object and nothing else: {\"name\": \"<tool>\", \"arguments\": {...}} to call one "
    "tool (its result comes back in the next message), or {\"answer\": \"<one sentence>\"} when you are "
    "done. The tools, each with the JSON schema of its arguments:\n")


def to_json_mode(request: dict) -> dict:
    """The request without native tools: tools described in the system message, earlier calls and
    their results written as plain messages (consecutive messages of one role merged, for chat
    templates that insist on alternating roles)."""
    body = {k: v for k, v in request.items() if k not in ("tools", "tool_choice", "parallel_tool_calls")}
    catalogue = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                  "arguments": t["function"].get("parameters", {})}
                 for t in request.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    note = JSON_MODE_NOTE + json.dumps(catalogue, ensure_ascii=True)
    names: dict[str, str] = {}
    out: list[dict] = []
    for m in request.get("messages") or []:
        role, content = m.get("role"), m.get("content")
        if isinstance(content, list):  # content parts: keep the text
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if role == "assistant" and m.get("tool_calls"):
            parts = [content] if content else []
            for c in m["tool_calls"]:
                fn = c.get("function") or {}
                names[c.get("id", "")] = fn.get("name", "")
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except json.JSONDecodeError:
                    args = fn.get("arguments")
                parts.append(json.dumps({"name": fn.get("name"), "arguments": args}, ensure_ascii=True))
            role, content = "assistant", "\n".join(parts)
        elif role == "tool":
            role, content = "user", f"Result of {names.get(m.get('tool_call_id', ''), 'the tool')}:\n{content}"
        elif role in ("system", "developer"):
            role = "system"
        if out and out[-1]["role"] == role:
            out[-1]["content"] = f"{out[-1]['content']}\n\n{content}"
        else:
            out.append({"role": role, "content": content or ""})
    if out and out[0]["role"] == "system":
        out[0]["content"] = f"{out[0]['content']}\n\n{note}"
    else:
        out.insert(0, {"role": "system", "content": note})
    body["messages"] = out
    return body


def from_json_mode(request: dict, response: dict, key: str) -> dict:
    """Read a JSON-mode answer back as a tool call (or a final answer), in the standard shape."""
    for choice in response.get("choices") or []:
        msg = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(msg, dict) or not isinstance(msg.get("content"), str):
            continue
        text = _strip(msg["content"])
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            continue
        try:
            obj = json.loads(text[start:end + 1])
        except json.JSONDecodeError:
            continue
        call = _as_call(obj, None)
        if call is not None:  # an unknown name too: the agent tells the model so
            msg["tool_calls"], msg["content"] = [{"type": "function", "function": call}], None
        elif isinstance(obj, dict) and "answer" in obj:
            msg["content"] = str(obj["answer"])
    return normalise_completion(request, response, key)
