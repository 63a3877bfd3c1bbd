"""The chat's LLM path: the model as an analyst over this session's graphs and results.

Each free-text turn is one bounded agent episode (:func:`causalpilot.agent.llm_runtime.run_agent`).
The model sees:

- the conversation so far, bounded: the last :data:`HISTORY_TURNS` turns, each message cut to
  :data:`HISTORY_MESSAGE_CHARS` characters, and older turns dropped until the whole history is at
  most :data:`HISTORY_CHARS` characters;
- the session: the columns, the current graph (its name, algorithm and edges), the graphs kept, the
  settings in force and the effects of the current run, all inside ``<data>`` blocks;
- the user's message.

Its tools act at once and return their real results before it writes its reply:

- the contract's read-only agent tools over the session's graphs (``query_graph`` answers "what
  causes X?" from a named graph; ``compare_graphs``, ``test_independence``, ``get_profile_finding``,
  ``list_algorithms``) and ``run_discovery`` (a further graph, kept in the session), all from
  :class:`causalpilot.agent.agent_tools.AgentTools`, never a second copy;
- ``estimate_effect`` (the contract's arguments; ``graph_name`` defaults to the current graph): on the
  current graph it becomes the session's effect question, which reuses that graph and only
  estimates; on another kept graph it is the contract's tool;
- the chat's changes, exactly the offline grammar's actions (``use_algorithm``, ``forbid_edge``,
  ``forbid_edges_into``, ``require_edge``): each is applied and rerun at once by the session
  (:meth:`causalpilot.agent.chat.ChatSession.apply`), and its outcome (the new graph, or why the
  change was refused, which leaves the session as it was) is the tool's result.

Nothing the model writes is executed: arguments are pydantic-validated and checked against the data
and the registry. A listener shows each step on the terminal as it happens: the tool running, its
result in a phrase, and the model's words as they arrive: the HTTP layer (agent.llm_cache) asks for a
stream and passes each piece to :func:`reply_stream`'s writer, keeping the whole completion for the
cache and the replay.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from pydantic import BaseModel, Field

from causalpilot.agent.agent_tools import (AgentTools, AnalysisSession, EffectArgs, edge_texts, effect_observation,
                                           short)
from causalpilot.agent.llm_runtime import Counters, LLMConfig, Transcript, final_text, make_chat_model, run_agent
from causalpilot.prompts import quote_data, render_prompt

if TYPE_CHECKING:  # pragma: no cover
    from causalpilot.agent.chat import ChatSession

HISTORY_TURNS = 6  # earlier turns (a user message and its reply) the model sees
HISTORY_MESSAGE_CHARS = 1500  # each earlier message is cut to this many characters
HISTORY_CHARS = 6000  # the whole history the model sees, at most (older turns dropped first)
REPLY_CHARS = 4000  # the model's reply shown and kept, at most
READ_TOOLS = ("query_graph", "compare_graphs", "test_independence", "get_profile_finding", "list_algorithms",
              "run_discovery")


class AlgorithmArg(BaseModel):
    algorithm: str = Field(description="a registered discovery algorithm, e.g. 'pc', 'fci'")


class EdgeArg(BaseModel):
    source: str
    target: str


class ColumnArg(BaseModel):
    column: str


class ChatEffectArgs(EffectArgs):
    graph_name: str | None = Field(None, description="a kept graph; left out, the current graph")


def bounded_history(history: list[dict[str, str]], turns: int = HISTORY_TURNS, chars: int = HISTORY_CHARS,
                    per_message: int = HISTORY_MESSAGE_CHARS) -> list[dict[str, str]]:
    """The earlier turns the model sees: the last ``turns`` user messages with what followed them, each
    message cut to ``per_message`` characters, the oldest turns dropped until the total is at most
    ``chars`` characters. ``history``: ``{"role": "user"|"assistant", "text": ...}`` entries, oldest first."""
    starts = [i for i, h in enumerate(history) if h["role"] == "user"]
    kept = history[starts[-turns]:] if len(starts) > turns else list(history)
    if kept and kept[0]["role"] != "user":  # a reply without its message (the opening analysis) stays out
        kept = kept[1:]
    cut = [{"role": h["role"], "text": short(h["text"], per_message) if len(h["text"]) > per_message else h["text"]}
           for h in kept]
    while cut and sum(len(h["text"]) for h in cut) > chars:
        cut = cut[1:]
        while cut and cut[0]["role"] != "user":
            cut = cut[1:]
    return cut


def session_context(chat: "ChatSession") -> dict[str, Any]:
    """What the model is told of the session: columns, the current graph with its edges, the kept graphs,
    the settings and the current run's effects (each as its observation, :func:`effect_observation`)."""
    g = chat.result.graph
    return {
        "variables": chat.columns(),
        "current": {"graph_name": chat.current, "algorithm": g.algorithm, "graph_type": g.graph_type,
                    "n_edges": len(g.edges), "edges": edge_texts(g)},
        "graphs": [{"graph_name": n, "algorithm": k.algorithm, "n_edges": len(k.edges)} for n, k in chat.graphs.items()],
        "settings": chat.settings.to_dict(),
        "effects": [effect_observation(e, g) for e in chat.result.effects],
    }


def tool_line(call: dict[str, Any]) -> str:
    """A tool call as the terminal shows it while it runs: ``running query_graph g1 parents heart_risk ...``."""
    args = call.get("args") or {}
    shown = " ".join(short(v if isinstance(v, str) else json.dumps(v, default=str), 60) for v in args.values()
                     if v not in (None, "", [], {}))
    line = f"  running {call.get('name')}{' ' + shown if shown else ''} ..."
    return "".join(ch for ch in line if ch.isprintable())  # no terminal control sequences from the model


class ChatTurn:
    """One free-text turn: the agent session over the chat's graphs, the tools, and what was shown."""

    def __init__(self, chat: "ChatSession", counters: Counters):
        self.chat, self.counters = chat, counters
        self.session = chat.agent_session()
        self.known: set[str] = set(self.session.graphs)
        self.tools = AgentTools(self.session, by="llm", on_invalid=counters.error)
        self.closed = False

    def _sync_in(self) -> None:
        """Make a graph the chat kept since (a change's new current graph) a graph of the agent session."""
        for name, g in self.chat.graphs.items():
            if name not in self.session.graphs:
                self.session.keep(name, g)
            self.known.add(name)

    def _sync_out(self) -> list[str]:
        """Keep the graphs the model made (run_discovery) as graphs of the chat; their names."""
        new = [n for n in self.session.graphs if n not in self.known]
        for name in new:
            self.chat.graphs[name] = self.session.graphs[name].graph
            self.chat._keep(name, self.session.graphs[name].graph)
            self.known.add(name)
        return new

    def close(self) -> None:
        self.closed = True
        self.tools.close()

    # ------------------------------------------------------------------ tools
    def _action(self, actions: list[tuple[str, dict[str, Any]]]) -> str:
        """Apply the grammar's actions through the session (rerunning once); the outcome as JSON text."""
        if self.closed or self.counters.cancelled.is_set():
            return quote_data({"rejected": "the turn is over; nothing was changed"})
        ok, text = self.chat.attempt(lambda: self.chat.apply(actions))
        if not ok:
            self.counters.error(text)
            return quote_data({"rejected": text})
        self._sync_in()
        g = self.chat.result.graph
        return quote_data({"done": text, "current_graph": self.chat.current, "algorithm": g.algorithm,
                           "edges": edge_texts(g),
                           "effects": [effect_observation(e, g) for e in self.chat.result.effects]}, max_chars=30_000)

    def langchain_tools(self) -> list:
        from langchain_core.tools import StructuredTool

        contract = {t.name: t for t in self.tools.langchain_tools()}

        def wrap(fn: Callable[..., str]) -> Callable[..., str]:
            return lambda **kw: f"<data>{fn(**kw)}</data>"

        def use_algorithm(algorithm: str) -> str:
            return self._action([("use_algorithm", {"algorithm": algorithm})])

        def edge(kind: str) -> Callable[..., str]:
            return lambda source, target: self._action([(kind, {"source": source, "target": target})])

        def forbid_edges_into(column: str) -> str:
            return self._action([("forbid_edges_into", {"column": column})])

        def estimate_effect(treatment: str, outcome: str, graph_name: str | None = None) -> str:
            if graph_name in (None, "", self.chat.current):
                return self._action([("estimate_effect", {"treatment": treatment, "outcome": outcome})])
            return self.tools.call("estimate_effect", {"graph_name": graph_name, "treatment": treatment,
                                                       "outcome": outcome})

        mk = StructuredTool.from_function
        return [*(contract[n] for n in READ_TOOLS), *[
            mk(func=wrap(estimate_effect), name="estimate_effect", args_schema=ChatEffectArgs,
               description="Estimate the causal effect of treatment on outcome. On the current graph (graph_name "
               "left out) it becomes the session's effect question: the graph is reused and a new run is kept; "
               "returns the estimate, interval and identification."),
            mk(func=wrap(use_algorithm), name="use_algorithm", args_schema=AlgorithmArg,
               description="Rerun the analysis with this algorithm; returns the new current graph."),
            mk(func=wrap(edge("forbid_edge")), name="forbid_edge", args_schema=EdgeArg,
               description="Rule out the directed edge source -> target and rerun; returns the new graph."),
            mk(func=wrap(forbid_edges_into), name="forbid_edges_into", args_schema=ColumnArg,
               description="Rule out every edge pointing into this column and rerun; returns the new graph."),
            mk(func=wrap(edge("require_edge")), name="require_edge", args_schema=EdgeArg,
               description="Insist on the directed edge source -> target and rerun; returns the new graph."),
        ]]

    # ------------------------------------------------------------------ what the terminal shows
    def listener(self, say: Callable[[str], None], streamed: dict | None = None) -> Callable[[str, Any], None]:
        """Show each step as it happens: the tool that runs, its result in a phrase (the trail's, or the
        session's own words for a change), and the model's words as each message arrives (``streamed``:
        the text already shown piece by piece while the message came in, see :func:`converse`)."""
        shown = {"n": len(self.session.trail)}

        def on(event: str, payload: Any) -> None:
            if event == "tool_start":
                say(tool_line(payload))
            elif event == "tool_end":
                call, message = payload
                trail = self.session.trail
                if len(trail) > shown["n"]:  # a contract tool: the trail's phrase of its result
                    entry = trail[-1]
                    shown["n"] = len(trail)
                    line = f"  {entry.tool}: {entry.result}" if entry.status == "ok" else \
                        f"  {entry.tool} refused: {entry.result}"
                else:  # a change: the session's own account of it
                    line = _action_text(getattr(message, "content", ""))
                if line:
                    say(line)
            elif event == "model":
                text = _text(payload)
                if streamed is not None and streamed["text"]:  # its words are on the screen: end the line
                    streamed["end"]()
                elif text.strip():
                    say(short_reply(text))

        return on


def _text(message: Any) -> str:
    c = getattr(message, "content", "") or ""
    return c if isinstance(c, str) else " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in c)


def reply_stream(out: Any) -> dict:
    """The terminal side of a streamed reply: ``piece(text)`` writes each piece as it arrives (printable
    characters and line breaks only: no control sequence from the model reaches the terminal; at most
    REPLY_CHARS in all), ``end()`` closes the line once the message is complete; ``text`` is what was
    written for the message now arriving. Without a stream to write to, nothing is written here and the
    listener prints each message whole."""
    state: dict[str, Any] = {"text": ""}

    def piece(text: str) -> None:
        if out is None:
            return
        clean = "".join(ch for ch in text if ch.isprintable() or ch == "\n")
        if not state["text"]:
            clean = clean.lstrip()
        clean = clean[:max(0, REPLY_CHARS - len(state["text"]))]
        if clean:
            state["text"] += clean
            out.write(clean)
            out.flush()

    def end() -> None:
        if state["text"]:
            out.write("\n")
            out.flush()
        state["text"] = ""

    state.update(piece=piece, end=end)
    return state


def short_reply(text: str) -> str:
    text = text.strip()
    return text if len(text) <= REPLY_CHARS else text[: REPLY_CHARS - 1] + "…"


def _action_text(content: Any) -> str:
    """The text a change tool returned, read back from its <data> JSON for the terminal."""
    raw = content if isinstance(content, str) else str(content)
    raw = raw.removeprefix("<data>").removesuffix("</data>")
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        return ""
    if isinstance(obj, dict) and "done" in obj:
        return str(obj["done"])
    if isinstance(obj, dict) and "rejected" in obj:
        return f"  refused: {obj['rejected']}"
    return ""


def converse(chat: "ChatSession", message: str, say: Callable[[str], None], model: Any = None,
             cfg: LLMConfig | None = None) -> tuple[str, dict]:
    """One free-text turn with the model as analyst; returns (its reply, the turn's transcript).

    Steps are shown through ``say`` as they happen (see :meth:`ChatTurn.listener`). Raises
    :class:`causalpilot.agent.llm_runtime.LLMFailure` when the model fails within its bounds (the
    changes it made before stay, each one whole)."""
    from langchain_core.messages import AIMessage, HumanMessage

    cfg = cfg or LLMConfig.from_env()
    transcript = Transcript(config=cfg.public())
    model = model or make_chat_model(cfg, transcript)
    counters = Counters(cfg)
    turn = ChatTurn(chat, counters)
    streamed = reply_stream(getattr(chat, "stdout", None))
    transcript.on_text = streamed["piece"]  # agent.llm_cache streams each answer's words to it
    counters.listener = turn.listener(say, streamed)
    earlier = bounded_history(chat.history[:-1])  # the message of this turn is the last entry
    history = [HumanMessage(h["text"]) if h["role"] == "user" else AIMessage(h["text"]) for h in earlier]
    prompt = render_prompt("chat", message=message, **session_context(chat))
    try:
        messages = run_agent(model, turn.langchain_tools(), system=render_prompt("system"), prompt=prompt, cfg=cfg,
                             stage="chat", transcript=transcript, counters=counters, history=history)
    finally:
        turn.close()
        new = turn._sync_out()
        if new:
            say(f"  kept {', '.join(repr(n) for n in new)} (see /graph NAME)")
    return short_reply(final_text(messages)), transcript.to_dict()
