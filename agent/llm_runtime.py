"""Running an LLM tool-calling agent within hard bounds, and keeping its transcript.

The planner and the chat both go through :func:`run_agent`, which builds a langchain
``create_agent`` ReAct loop and guards it:

- per-call timeout and retries with backoff on 429/5xx (the openai client's own ``max_retries``);
- a bounded number of model calls (steps) and of tokens, and a total wall-clock budget that is
  enforced from outside the agent thread, so a hung server can never block the run;
- malformed tool calls (invalid JSON arguments, wrong arguments, unknown tool names, proposals the
  validator rejects) are fed back to the model as error messages, at most ``max_tool_errors`` times;
- a prompt the server finds too long for its context (a 400) is retried once with the compact
  prompt the caller supplies;
- each stage stands alone: a failed stage does not stop the next one, unless the server could not
  be reached at all (then the later stages of the analysis are skipped instead of waiting again).

The HTTP layer under the client (:mod:`causalpilot.agent.llm_cache`) caches, records and replays
every request, reads the tool-call formats of local servers and falls back to JSON mode for servers
without tool support (:mod:`causalpilot.agent.llm_server`).

Any breach raises :class:`LLMFailure`; callers fall back to the rules planner. Model output is
only ever read as data: tool arguments are validated by pydantic schemas and the tools themselves,
and nothing the model writes is executed.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

DEFAULT_MODEL = "gpt-4o-mini"  # used only when CAUSALPILOT_MODEL is not set and the server does not decide
ROWS_DEFAULT = 5  # data rows the model sees unless --share-data says otherwise
ROWS_FLAG = 50  # what --share-data (or share_data=True) without a number means


class LLMFailure(RuntimeError):
    """The LLM could not finish its task within the bounds; the caller falls back."""


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _env_price(name: str) -> float | None:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        from causalpilot.tools.errors import InputError

        raise InputError(f"{name} must be a price in USD per million tokens (a number >= 0), got '{text}'.")
    return value


def rows_to_share(value: Any) -> int:
    """--share-data as a number of rows: True means ROWS_FLAG, False or None the default ROWS_DEFAULT."""
    if value is None or value is False:
        return ROWS_DEFAULT
    if value is True:
        return ROWS_FLAG
    return int(value)


@dataclass
class LLMConfig:
    """Where the model is and how far it may go. Read from the environment (../shared/CONTRACT.md)."""

    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0  # one HTTP request
    max_retries: int = 2  # retries of one request on timeouts, 429 and 5xx (exponential backoff)
    budget_s: float = 240.0  # one agent run (planning, review, narrative, a chat turn) in all
    run_budget_s: float = 600.0  # all LLM stages of one analysis together
    max_steps: int = 12  # model calls in one agent run
    max_tool_errors: int = 3  # malformed or rejected tool calls fed back before giving up
    max_tokens: int = 1500  # per completion
    token_budget: int = 80_000  # prompt + completion tokens in one agent run
    share_data: int = ROWS_DEFAULT  # data rows the model may see (--share-data N; 0 sends none)
    data_seed: int = 0  # seeds which rows those are (derived from --seed)
    temperature: float = 0.0
    seed: int | None = 0
    model_named: bool = False  # the model was named (CAUSALPILOT_MODEL), not defaulted
    model_source: str = ""  # how the model was settled against the server (agent.llm_server.resolve_model)
    cache: bool = True  # answer repeated identical requests from the on-disk cache (CAUSALPILOT_LLM_CACHE=0: off)
    cache_dir: str | None = None  # default: llm-cache beside the memory database
    price_in: float | None = None  # USD per million prompt tokens (CAUSALPILOT_PRICE_IN)
    price_out: float | None = None  # USD per million completion tokens (CAUSALPILOT_PRICE_OUT)
    replay: Any = None  # an agent.llm_cache.Replay: answers come from a recorded transcript, no server

    def __post_init__(self) -> None:
        self.share_data = rows_to_share(self.share_data)

    @classmethod
    def from_env(cls, **overrides: Any) -> "LLMConfig":
        env = os.environ
        cfg = cls(
            model=env.get("CAUSALPILOT_MODEL") or DEFAULT_MODEL,
            base_url=env.get("OPENAI_BASE_URL") or None,
            api_key=env.get("OPENAI_API_KEY") or None,
            timeout_s=_env_float("CAUSALPILOT_LLM_TIMEOUT", cls.timeout_s),
            max_retries=int(_env_float("CAUSALPILOT_LLM_RETRIES", cls.max_retries)),
            budget_s=_env_float("CAUSALPILOT_LLM_BUDGET", cls.budget_s),
            run_budget_s=_env_float("CAUSALPILOT_LLM_RUN_BUDGET", cls.run_budget_s),
            max_steps=int(_env_float("CAUSALPILOT_LLM_MAX_STEPS", cls.max_steps)),
            model_named=bool(env.get("CAUSALPILOT_MODEL")),
            cache=env.get("CAUSALPILOT_LLM_CACHE", "1").strip().lower() not in ("0", "false", "no", "off"),
            price_in=_env_price("CAUSALPILOT_PRICE_IN"),
            price_out=_env_price("CAUSALPILOT_PRICE_OUT"),
        )
        for k, v in overrides.items():
            setattr(cfg, k, v)
        if "model" in overrides:
            cfg.model_named = True
        cfg.share_data = rows_to_share(cfg.share_data)
        return cfg

    def configured(self) -> bool:
        return bool(self.api_key or self.base_url or self.replay is not None)

    def public(self) -> dict[str, Any]:
        """The configuration as recorded in run.json (never the key)."""
        return {"model": self.model, "model_source": self.model_source, "base_url": self.base_url,
                "timeout_s": self.timeout_s,
                "max_retries": self.max_retries, "budget_s": self.budget_s, "run_budget_s": self.run_budget_s,
                "max_steps": self.max_steps,
                "max_tool_errors": self.max_tool_errors, "max_tokens": self.max_tokens,
                "token_budget": self.token_budget, "share_data": rows_to_share(self.share_data),
                "data_seed": self.data_seed,
                "temperature": self.temperature, "seed": self.seed, "cache": self.cache and self.replay is None,
                "replay": None if self.replay is None else self.replay.path}


def make_chat_model(cfg: LLMConfig, transcript: "Transcript | None" = None):
    """A ChatOpenAI client for any OpenAI-compatible server, over the recording HTTP layer.

    Settles the model against the server's list first (:func:`agent.llm_server.resolve_model`,
    which raises InputError for a model the server does not serve). Every exchange is recorded in
    ``transcript.exchanges``; with ``cfg.replay`` no server is contacted at all.
    """
    import httpx
    from langchain_openai import ChatOpenAI

    from causalpilot.agent.llm_cache import transport_for
    from causalpilot.agent.llm_server import resolve_model

    resolve_model(cfg)
    ledger = transcript if transcript is not None else Transcript(config=cfg.public())
    client = httpx.Client(transport=transport_for(cfg, ledger), timeout=cfg.timeout_s)
    base_url = "http://replay.invalid/v1" if cfg.replay is not None else cfg.base_url
    # local servers (vLLM, Ollama, llama.cpp) need no key, but the openai client insists on one
    key = cfg.api_key or "not-needed"
    return ChatOpenAI(model=cfg.model, base_url=base_url, api_key=key, timeout=cfg.timeout_s,
                      max_retries=cfg.max_retries, max_tokens=cfg.max_tokens, temperature=cfg.temperature,
                      seed=cfg.seed, http_client=client)


@dataclass
class Transcript:
    """Every message of every LLM stage and every HTTP exchange, saved as transcript.json beside the report."""

    config: dict[str, Any] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # one per HTTP request (agent.llm_cache)
    data_sent: dict[str, Any] = field(default_factory=lambda: {"rows": [], "columns": [], "labels": []})
    stage: str = ""  # the stage now running; labels the exchanges
    stopped: str | None = None  # why later stages are skipped (no LLM configured, the server unreachable)

    def add(self, stage: str, messages: Sequence[Any], *, seconds: float, outcome: str, tokens: int = 0) -> None:
        self.stages.append({"stage": stage, "outcome": outcome, "seconds": round(seconds, 3), "tokens": tokens,
                            "messages": [message_to_dict(m) for m in messages]})

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "stages": self.stages, "exchanges": self.exchanges,
                "data_sent": self.data_sent}

    def usage(self, cfg: "LLMConfig") -> dict[str, Any]:
        """Tokens per request, per stage and in total, and the cost at the configured prices."""
        from causalpilot.agent.llm_cache import usage_summary

        return usage_summary(self.exchanges, cfg.price_in, cfg.price_out)

    def begin(self, stage: str) -> None:
        """Label the exchanges that follow with ``stage``, or refuse when an earlier stage found no server."""
        if self.stopped is not None:
            raise LLMFailure(f"skipped: {self.stopped}")
        self.stage = stage

    def note_failure(self, exc: BaseException | None) -> None:
        """Remember a server that cannot be reached (refused, timed out, 5xx or 429 after the retries)."""
        if exc is not None and _unreachable(exc):
            self.stopped = f"the server did not answer in an earlier stage ({_describe(exc)})"


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    try:
        import openai
    except ImportError:  # pragma: no cover - the llm extra brings it
        return False
    return isinstance(exc, (openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError))


def _context_error(exc: BaseException | None) -> bool:
    from causalpilot.agent.llm_server import is_context_error

    return exc is not None and getattr(exc, "status_code", None) == 400 and is_context_error(str(exc))


def message_to_dict(m: Any) -> dict[str, Any]:
    if isinstance(m, dict):
        return m
    d: dict[str, Any] = {"role": getattr(m, "type", type(m).__name__), "content": getattr(m, "content", str(m))}
    for attr in ("tool_calls", "invalid_tool_calls"):
        v = getattr(m, attr, None)
        if v:
            d[attr] = [{k: c.get(k) for k in ("name", "args", "id", "error")} for c in v]
    for attr in ("tool_call_id", "name", "status"):
        v = getattr(m, attr, None)
        if v:
            d[attr] = v
    return d


class Counters:
    """Shared between the guard middleware and the tools: steps, tokens, errors, cancellation."""

    def __init__(self, cfg: LLMConfig, run_deadline: float | None = None):
        self.cfg = cfg
        self.steps = 0
        self.tokens = 0
        self.errors = 0
        self.error_log: list[str] = []
        self.deadline = time.monotonic() + cfg.budget_s
        if run_deadline is not None:  # the analysis' overall LLM budget may end this stage sooner
            self.deadline = min(self.deadline, run_deadline)
        self.cancelled = threading.Event()
        self.messages: list[Any] = []  # live copy, so a timed-out run still leaves a transcript
        # told of each step as it happens, from the agent's thread: ("model", AIMessage), ("tool_start",
        # tool_call) and ("tool_end", (tool_call, ToolMessage)); the chat shows progress and replies with it
        self.listener: Callable[[str, Any], None] | None = None

    def tell(self, event: str, payload: Any) -> None:
        """Pass one step to the listener, if any (a failing listener never stops the agent)."""
        if self.listener is not None:
            try:
                self.listener(event, payload)
            except Exception:  # noqa: BLE001 - showing progress must not end the run
                pass

    def error(self, what: str) -> None:
        self.errors += 1
        self.error_log.append(what)
        if self.errors > self.cfg.max_tool_errors:
            raise LLMFailure(f"{self.errors} malformed or rejected tool calls (limit {self.cfg.max_tool_errors}); "
                             f"last: {what}")


def _guard(counters: Counters):
    """Middleware that enforces the bounds between the agent's steps."""
    from langchain.agents.middleware import AgentMiddleware
    from langchain_core.messages import AIMessage, ToolMessage

    class Guard(AgentMiddleware):
        def wrap_model_call(self, request, handler):
            while True:
                if counters.cancelled.is_set():
                    raise LLMFailure("cancelled")
                if time.monotonic() > counters.deadline:
                    raise LLMFailure("time budget spent (CAUSALPILOT_LLM_BUDGET / CAUSALPILOT_LLM_RUN_BUDGET)")
                counters.steps += 1
                if counters.steps > counters.cfg.max_steps:
                    raise LLMFailure(f"step limit reached ({counters.cfg.max_steps} model calls): "
                                     "the model kept calling tools")
                resp = handler(request)
                msgs = getattr(resp, "result", None) or ([resp] if isinstance(resp, AIMessage) else [])
                feedback = []
                for m in msgs:
                    counters.messages.append(m)
                    usage = getattr(m, "usage_metadata", None) or {}
                    counters.tokens += int(usage.get("total_tokens") or 0)
                    for bad in getattr(m, "invalid_tool_calls", None) or []:
                        counters.error(f"malformed tool call {bad.get('name')!r}: {str(bad.get('error'))[:200]}")
                        feedback.append(ToolMessage(
                            f"Error: the call to {bad.get('name')!r} could not be parsed (its arguments must be one "
                            "JSON object matching the tool's schema). Please fix it and try again.",
                            tool_call_id=bad.get("id") or "invalid", name=bad.get("name") or "unknown", status="error"))
                if counters.tokens > counters.cfg.token_budget:
                    raise LLMFailure(f"token budget spent ({counters.tokens} > {counters.cfg.token_budget})")
                ai = next((m for m in msgs if isinstance(m, AIMessage)), None)
                if ai is not None:
                    counters.tell("model", ai)
                if not feedback or ai is None or ai.tool_calls:
                    return resp
                # only malformed calls: the agent would stop here, so feed the errors back and ask again
                counters.messages.extend(feedback)
                request = request.override(messages=[*request.messages, ai, *feedback])

        def wrap_tool_call(self, request, handler):
            if counters.cancelled.is_set():
                raise LLMFailure("cancelled")
            counters.tell("tool_start", request.tool_call)
            result = handler(request)
            counters.tell("tool_end", (request.tool_call, result))
            counters.messages.append(result)
            if isinstance(result, ToolMessage) and result.status == "error":
                name = request.tool_call.get("name")
                counters.error(f"tool call {name!r} failed: {str(result.content)[:200]}")
            return result

    return Guard()


def run_agent(model: Any, tools: Sequence[Any], *, system: str, prompt: str, cfg: LLMConfig, stage: str,
              transcript: Transcript, counters: Counters | None = None,
              compact: Callable[[], str] | None = None, history: Sequence[Any] = ()) -> list[Any]:
    """Run one bounded ReAct episode; return its messages or raise :class:`LLMFailure`.

    ``compact``: a function giving a shorter prompt (fewer rows and columns, a shorter catalogue),
    tried once when the server answers that ``prompt`` does not fit the model's context.
    ``history``: earlier messages (langchain messages) sent before ``prompt``, e.g. a chat's last turns;
    the caller bounds them. The messages returned start after them.
    """
    counters = counters or Counters(cfg)
    transcript.begin(stage)
    try:
        return _episode(model, tools, system, prompt, cfg, stage, transcript, counters, history)
    except LLMFailure as exc:
        if compact is None or not _context_error(exc.__cause__):
            transcript.note_failure(exc.__cause__)
            raise
    counters.cancelled.clear()
    counters.messages = []
    try:
        return _episode(model, tools, system, compact(), cfg, stage, transcript, counters, history)
    except LLMFailure as exc:
        transcript.note_failure(exc.__cause__)
        raise


def _episode(model: Any, tools: Sequence[Any], system: str, prompt: str, cfg: LLMConfig, stage: str,
             transcript: Transcript, counters: Counters, history: Sequence[Any] = ()) -> list[Any]:
    from langchain.agents import create_agent
    from langchain_core.messages import HumanMessage, SystemMessage

    agent = create_agent(model, list(tools), system_prompt=system, middleware=[_guard(counters)])
    first = HumanMessage(prompt)
    counters.messages.extend([SystemMessage(system), *history, first])
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            # one tool call at a time, in the order the model wrote them: the tools act on shared state
            box["state"] = agent.invoke({"messages": [*history, first]},
                                        config={"recursion_limit": 2 * cfg.max_steps + 2, "max_concurrency": 1})
        except BaseException as exc:  # reported to the caller's thread below
            box["error"] = exc

    t0 = time.monotonic()
    worker = threading.Thread(target=work, name=f"llm-{stage}", daemon=True)
    worker.start()
    worker.join(timeout=max(0.1, counters.deadline - time.monotonic()) + 2.0)
    seconds = time.monotonic() - t0
    if worker.is_alive():
        counters.cancelled.set()  # the abandoned thread's tools refuse to act from now on
        err: BaseException | None = LLMFailure(f"time budget spent waiting for the model ({seconds:.0f} s)")
    else:
        err = box.get("error")
    if err is not None:
        counters.cancelled.set()
        transcript.add(stage, counters.messages, seconds=seconds, tokens=counters.tokens,
                       outcome=f"failed: {_describe(err)}")
        if isinstance(err, LLMFailure):
            raise err
        raise LLMFailure(_describe(err)) from err
    messages = list(box["state"]["messages"])[len(history):]
    transcript.add(stage, [SystemMessage(system), *history, *messages], seconds=seconds, tokens=counters.tokens, outcome="finished")
    return messages


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    if name == "GraphRecursionError":
        return "step limit reached: the model kept calling tools"
    return f"{name}: {text}" if text else name


def final_text(messages: Sequence[Any]) -> str:
    """The last assistant message's text (what the model said when it stopped calling tools)."""
    for m in reversed(messages):
        if getattr(m, "type", "") == "ai" and not getattr(m, "tool_calls", None):
            c = m.content
            return c if isinstance(c, str) else " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in c)
    return ""


def call_model_text(model: Any, system: str, prompt: str, cfg: LLMConfig, stage: str, transcript: Transcript,
                    run_deadline: float | None = None, compact: Callable[[], str] | None = None) -> str:
    """One plain completion within the time budget (used for the structured narrative).

    ``compact`` as in :func:`run_agent`: a shorter prompt tried once after a context-size 400.
    """
    transcript.begin(stage)
    try:
        return _completion(model, system, prompt, cfg, stage, transcript, run_deadline)
    except LLMFailure as exc:
        if compact is None or not _context_error(exc.__cause__):
            transcript.note_failure(exc.__cause__)
            raise
    try:
        return _completion(model, system, compact(), cfg, stage, transcript, run_deadline)
    except LLMFailure as exc:
        transcript.note_failure(exc.__cause__)
        raise


def _completion(model: Any, system: str, prompt: str, cfg: LLMConfig, stage: str, transcript: Transcript,
                run_deadline: float | None) -> str:
    from langchain_core.messages import HumanMessage, SystemMessage

    msgs = [SystemMessage(system), HumanMessage(prompt)]
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["msg"] = model.invoke(msgs)
        except BaseException as exc:
            box["error"] = exc

    wait = cfg.budget_s if run_deadline is None else min(cfg.budget_s, run_deadline - time.monotonic())
    if wait <= 0:
        raise LLMFailure("time budget spent (CAUSALPILOT_LLM_RUN_BUDGET)")
    t0 = time.monotonic()
    worker = threading.Thread(target=work, name=f"llm-{stage}", daemon=True)
    worker.start()
    worker.join(timeout=wait + 2.0)
    seconds = time.monotonic() - t0
    if worker.is_alive():
        transcript.add(stage, msgs, seconds=seconds, outcome="failed: time budget spent")
        raise LLMFailure(f"time budget of {cfg.budget_s:g} s spent waiting for the model")
    if "error" in box:
        transcript.add(stage, msgs, seconds=seconds, outcome=f"failed: {_describe(box['error'])}")
        raise LLMFailure(_describe(box["error"])) from box["error"]
    reply = box["msg"]
    transcript.add(stage, [*msgs, reply], seconds=seconds, outcome="finished")
    return final_text([reply])
