"""`causalpilot chat [DATA]`: a terminal session that refines an analysis turn by turn.

Every turn is either a slash command (/help, /graph, /effects, /report, /save, /quit, ...), a
sentence of a small deterministic grammar that works without any LLM (``use fci``, ``forbid A -> B``,
``forbid edges into A``, ``require A -> B``, ``effect of X on Y``, ``compare g1 g2``, ``load FILE``,
and without an LLM ``what causes X``), or free text, which the LLM (when configured) handles as the
session's analyst (:mod:`causalpilot.agent.chat_llm`): it reads the graphs and results through the
contract's agent tools and makes changes through the grammar's actions. Each change reruns the
analysis and keeps the new graph under a name (g1, g2, ...) in the memory store
(``RUN/graph/<name>``), so graphs can be compared.

It never blocks forever: end of input (Ctrl-D, or the end of a piped script) and /quit end the
session cleanly, and it reads plain lines, so it works the same with a terminal or a script.
A line ending in a backslash continues on the next line.
"""

from __future__ import annotations

import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from causalpilot.agent.chat_grammar import plain_command, read_request
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph, graph_diff

HELP = """Commands:
  /help                 this help
  /graph [NAME]         the current graph (or a kept one), edge by edge
  /graphs               the graphs kept in this session
  /effects              the estimated effects
  /report               where the report is, and its summary
  /save [NAME]          keep the current graph under NAME and write chat_history.json
  /history              the turns so far
  /quit                 end the session (Ctrl-D too)
Requests (work without an LLM):
  load FILE             analyse a data file
  use ALGORITHM         e.g. use fci   (see `causalpilot algorithms`)
  use pc with alpha 0.01 and the kci test
                        an algorithm with its settings
  set alpha to 0.01     also: use the kci test, bootstrap 50, no bootstrap, seed 3
  forbid A -> B         rule out the edge A -> B;  forbid edges into A / out of A
  require A -> B        insist on the edge A -> B
  effect of X on Y      estimate the causal effect of X on Y
  treatment X / outcome Y
                        the same, one side at a time
  compare G1 G2         the edge differences between two kept graphs
  what causes X         the parents of X in the current graph; what does X cause: its children
  rerun                 run the analysis again with the current settings
A request that fails changes nothing: the session stays as it was.
With an LLM configured, plain sentences ("what is the effect of smoking on cancer?") work too.
End a line with \\ to continue it on the next line."""


@dataclass
class Settings:
    """What the user has asked for so far; every rerun starts from these."""

    algorithm: str | None = None
    forbidden: list[tuple[str, str]] = field(default_factory=list)
    required: list[tuple[str, str]] = field(default_factory=list)
    treatment: str | None = None
    outcome: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the algorithm's alpha, indep_test / ci_test
    bootstrap: int | None = None  # None: the planner's choice
    seed: int = 0

    def discovery_key(self, data: str | None) -> tuple:
        """Everything the graph depends on (the effect asked about aside)."""
        return (data, self.algorithm, tuple(sorted(self.params.items())), tuple(self.forbidden),
                tuple(self.required), self.bootstrap, self.seed)

    def to_dict(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "forbidden": [list(e) for e in self.forbidden],
                "required": [list(e) for e in self.required], "treatment": self.treatment, "outcome": self.outcome,
                "params": dict(self.params), "bootstrap": self.bootstrap, "seed": self.seed}


def _whole(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{what[:1].upper() + what[1:]} must be a whole number, got '{text}'.") from None
    if value < 0:
        raise InputError(f"{what[:1].upper() + what[1:]} cannot be negative, got {value}.")
    return value


class ChatSession:
    def __init__(self, data: str | None = None, *, out: str | None = None, seed: int = 0, planner: str = "rules",
                 bootstrap: int | None = None, memory_path: str | None = None, share_data: int | bool | None = None,
                 stdin: TextIO | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None,
                 llm_model: Any = None, planner_factory: Callable[[], Any] | None = None):
        self.data = data
        self.planner_name = planner
        self.memory_path, self.share_data = memory_path, share_data
        self.stdin, self.stdout, self.stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
        self.llm_model = llm_model  # injected in tests; else built from the environment when needed
        self.planner_factory = planner_factory
        self.out = Path(out) if out else None
        self._initial = Settings(bootstrap=bootstrap, seed=seed)  # what `load FILE` starts from again
        self.settings = copy.deepcopy(self._initial)
        self.graphs: dict[str, CausalGraph] = {}
        self.result: Any = None
        self.current: str | None = None
        self.session_key: str | None = None
        self.history: list[dict[str, str]] = []
        self.transcripts: list[dict] = []
        self._discovery_key: tuple | None = None  # data and discovery settings of the last run
        self._pair: tuple | None = None  # the effect the last run estimated
        self._shown: str | None = None  # the reply of this turn when it was already shown (the LLM path)

    # ------------------------------------------------------------------ I/O
    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def read_message(self) -> str | None:
        """One message (lines joined across trailing backslashes); None at end of input."""
        parts: list[str] = []
        interactive = self.stdin is sys.stdin and self.stdin.isatty()
        if interactive:
            try:
                import readline  # noqa: F401  (arrow-key line editing and history for input())
            except ImportError:
                pass
        while True:
            if interactive:
                try:
                    line = input("... " if parts else "> ") + "\n"
                except EOFError:
                    line = ""
            else:
                line = self.stdin.readline()
            if line == "":
                return "\n".join(parts) if parts else None
            line = line.rstrip("\r\n")
            if line.endswith("\\"):
                parts.append(line[:-1])
                continue
            parts.append(line)
            return "\n".join(parts)

    def run(self) -> int:
        self.say("causalpilot chat: type /help for commands, /quit or Ctrl-D to leave.")
        if self.data:
            self.say(self.safe(self.analyse))
        while True:
            try:
                msg = self.read_message()
            except KeyboardInterrupt:
                self.say("")
                break
            if msg is None:
                break
            msg = msg.strip()
            if not msg:
                continue
            self.history.append({"role": "user", "text": msg})
            if msg.lower() in ("/quit", "/exit", "quit", "exit"):
                break
            self._shown = None
            reply = self.safe(lambda: self.handle(msg))
            self.history.append({"role": "assistant", "text": reply})
            if reply != self._shown:  # the LLM's reply was shown as it arrived
                self.say(reply)
        self._write_history()
        self.say("bye.")
        return 0

    def safe(self, fn: Callable[[], str]) -> str:
        """Run one turn; a bad request is answered, never fatal to the session, and changes nothing:
        the data file, the settings and the output folder are put back as they were before it."""
        return self.attempt(fn)[1]

    def attempt(self, fn: Callable[[], str]) -> tuple[bool, str]:
        """``fn``'s answer as (True, text); on an InputError or any other failure (False, what happened),
        with the data file, the settings and the output folder put back as they were before it."""
        saved = (self.data, copy.deepcopy(self.settings), self.out)
        try:
            return True, fn()
        except InputError as exc:
            self.data, self.settings, self.out = saved
            return False, f"error: {exc}"
        except Exception as exc:  # keep the session alive; say what happened
            self.data, self.settings, self.out = saved
            return False, f"internal error: {type(exc).__name__}: {exc}"

    # ------------------------------------------------------------------ turns
    def handle(self, msg: str) -> str:
        if msg.startswith("/"):
            return self.command(msg)
        slash = plain_command(msg)  # "help", "show graph": the slash commands in plain words
        if slash is not None:
            return self.command(slash)
        reply = self.grammar(msg)
        if reply is not None:
            return reply
        if self.planner_name == "llm":
            return self.ask_llm(msg)
        return ("I did not understand that. Without an LLM I follow a small set of requests "
                "(e.g. 'use fci', 'forbid A -> B', 'effect of X on Y'); type /help.")

    def command(self, msg: str) -> str:
        name, _, arg = msg[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        if name == "help":
            return HELP
        if name == "graphs":
            return "\n".join(f"{'*' if n == self.current else ' '} {n}: {g.algorithm}, {len(g.edges)} edges"
                             for n, g in self.graphs.items()) or "No graphs yet."
        if name == "history":
            return "\n".join(f"{h['role']}: {h['text']}" for h in self.history[:-1]) or "No history yet."
        if name in ("graph", "effects", "report", "save") and self.result is None and not (name == "graph" and arg):
            return "No analysis yet: load a data file first (load FILE)."
        if name == "graph":
            return self.show_graph(arg or self.current)
        if name == "effects":
            from causalpilot.reports.interpret import effect_sentence

            if not self.result.effects:
                return "No effects estimated yet; ask e.g. 'effect of X on Y'."
            return "\n".join(effect_sentence(e) for e in self.result.effects)
        if name == "report":
            from causalpilot.reports.interpret import graph_summary

            return f"{graph_summary(self.result.graph)}\nReport: {self.result.out / 'report.md'} (and report.html)"
        if name == "save":
            key = arg or self.current
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", key or ""):
                raise InputError(f"A graph name may hold letters, digits, '_', '.', '-' only; got '{arg}'.")
            self.graphs[key] = self.result.graph
            self._keep(key, self.result.graph)
            path = self._write_history()
            return f"Kept the current graph as '{key}'; history written to {path}."
        raise InputError(f"Unknown command '/{name}'; type /help.")

    def grammar(self, msg: str) -> str | None:
        """The deterministic request grammar (:func:`causalpilot.agent.chat_grammar.read_request`) applied to
        the session; None when the message is not one of its sentences."""
        request = read_request(msg)
        if request is None:
            return None
        if self.planner_name == "llm" and isinstance(request, list) and any(k == "query_graph" for k, _ in request):
            return None  # with an LLM, a question about the graph goes to the model, which reads it with query_graph
        if request == "rerun":
            return self.analyse()
        if isinstance(request, tuple) and request[0] == "load":
            self.data = request[1]
            self.settings = copy.deepcopy(self._initial)
            return self.analyse()
        return self.apply(request)

    # ------------------------------------------------------------------ actions
    def columns(self) -> list[str]:
        if self.result is None:
            raise InputError("No analysis yet: load a data file first (load FILE).")
        return list(self.result.run_info["profile"]["variables"])

    def column(self, name: str) -> str:
        cols = self.columns()
        clean = name.strip().strip("'\"`")
        for c in cols:
            if c == clean:
                return c
        for c in cols:
            if c.lower() == clean.lower():
                return c
        from causalpilot.tools.inference.question import match_phrase

        m = match_phrase(clean, cols)  # "new drug" -> new_drug, "readmissions" -> readmitted; never a guess
        if m.column is not None:
            return m.column
        if m.how == "ambiguous":
            raise InputError(f"'{clean}' could be any of {', '.join(m.candidates)}; name one of them.")
        raise InputError(f"Column '{clean}' is not among the analysed variables ({', '.join(cols)}).")

    def apply(self, actions: list[tuple[str, dict[str, Any]]]) -> str:
        """Validate and apply actions (from the grammar or the LLM), then rerun once if a setting changed.

        Raises InputError for an invalid action; the caller (``safe``) then restores the settings."""
        notes: list[str] = []
        out: list[str] = []
        s = self.settings
        before = copy.deepcopy(s)
        for kind, args in actions:
            if kind == "compare_graphs":
                out.append(self.compare(str(args["first"]), str(args["second"])))
            elif kind == "query_graph":
                out.append(self.query(str(args["query"]), str(args["node"])))
            else:
                notes.append(self._apply_one(kind, args))
        changed = s != before
        head = "; ".join(n for n in notes if n)
        head = head[:1].upper() + head[1:] + "." if head else ""
        if changed and bool(s.treatment) != bool(s.outcome):
            missing = "outcome" if s.treatment else "treatment"
            out.insert(0, f"{head}\nName the {missing} too (e.g. '{missing} COLUMN') to estimate the effect.")
        elif changed:
            out.insert(0, (head + "\n" if head else "") + self.analyse())
        elif head:
            out.insert(0, head + "\nNothing changed, so nothing was rerun.")
        return "\n".join(out) or "Nothing to change."

    def _apply_one(self, kind: str, args: dict[str, Any]) -> str:
        """Apply one action to the settings; return what it did, in words."""
        from causalpilot.tools.registry import get_algorithm

        s = self.settings
        if kind == "use_algorithm":
            s.algorithm = get_algorithm(str(args["algorithm"])).name
            spec = get_algorithm(s.algorithm)
            dropped = [f"{k} {v}" for k, v in s.params.items() if k not in spec.defaults]
            s.params = {k: v for k, v in s.params.items() if k in spec.defaults}
            return f"using {s.algorithm}" + (f" ({', '.join(dropped)} does not apply to it and is dropped)"
                                             if dropped else "")
        if kind in ("forbid_edge", "require_edge"):
            a, b = self.column(args["source"]), self.column(args["target"])
            if a == b:
                raise InputError("An edge needs two different columns.")
            mine, other = (s.forbidden, s.required) if kind == "forbid_edge" else (s.required, s.forbidden)
            verb = "forbidding" if kind == "forbid_edge" else "requiring"
            if (a, b) in mine:
                return f"the edge {a} -> {b} is already {'forbidden' if kind == 'forbid_edge' else 'required'}"
            replaced = (a, b) in other
            other[:] = [e for e in other if e != (a, b)]
            mine[:] = sorted(set(mine) | {(a, b)})
            if replaced:
                earlier = "requirement" if kind == "forbid_edge" else "prohibition"
                return f"{verb} {a} -> {b}: this replaces your earlier {earlier} of {a} -> {b}"
            return f"{verb} {a} -> {b}"
        if kind in ("forbid_edges_into", "forbid_edges_out_of"):
            c = self.column(args["column"])
            into = kind == "forbid_edges_into"
            new = {(x, c) if into else (c, x) for x in self.columns() if x != c}
            where = "into" if into else "out of"
            if new <= set(s.forbidden):
                return f"every edge {where} {c} is already forbidden"
            replaced = sorted(e for e in s.required if e in new)
            s.required = [e for e in s.required if e not in new]
            s.forbidden = sorted(set(s.forbidden) | new)
            return f"forbidding every edge {where} {c}" + (
                f": this replaces your earlier requirement of {', '.join(f'{x} -> {y}' for x, y in replaced)}"
                if replaced else "")
        if kind == "estimate_effect":
            t, o = self.column(args["treatment"]), self.column(args["outcome"])
            if t == o:
                raise InputError("Treatment and outcome must be different columns.")
            s.treatment, s.outcome = t, o
            return f"estimating the effect of {t} on {o}"
        if kind in ("set_treatment", "set_outcome"):
            col = self.column(str(args["value"]))
            side = "treatment" if kind == "set_treatment" else "outcome"
            if col == (s.outcome if side == "treatment" else s.treatment):
                raise InputError("Treatment and outcome must be different columns.")
            setattr(s, side, col)
            return f"setting the {side} to {col}"
        if kind in ("set_alpha", "set_indep_test"):
            return self._set_param(kind, str(args["value"]))
        if kind == "set_bootstrap":
            value = str(args["value"]).lower()
            b = 0 if value == "no" else _whole(value, "bootstrap resamples")
            if not 0 <= b <= 10_000:
                raise InputError(f"Bootstrap resamples must be between 0 and 10000, got {b}.")
            s.bootstrap = b
            return f"using {b} bootstrap resamples" if b else "running no bootstrap"
        if kind == "set_seed":
            s.seed = _whole(str(args["value"]), "a seed")
            return f"using seed {s.seed}"
        raise InputError(f"Unknown action '{kind}'.")

    def _set_param(self, kind: str, value: str) -> str:
        """alpha or the independence test, for the algorithm asked for (or the one that made the current
        graph, which is then kept: the parameter is its own)."""
        from causalpilot.tools.registry import check_ci_test, get_algorithm

        s = self.settings
        algo = s.algorithm or (self.result.graph.algorithm if self.result is not None else None)
        if algo is None:
            raise InputError("Name the algorithm with its settings, e.g. 'use pc with alpha 0.01'.")
        spec = get_algorithm(algo)
        kept = "" if s.algorithm else f" (keeping {spec.name}, whose setting it is)"
        if kind == "set_alpha":
            try:
                alpha = float(value)
            except ValueError:
                raise InputError(f"alpha must be a number between 0 and 1, got '{value}'.") from None
            if not 0 < alpha < 1:
                raise InputError(f"alpha must be between 0 and 1, got {value}.")
            if "alpha" not in spec.defaults:
                raise InputError(f"{spec.name} takes no alpha; say e.g. 'use pc with alpha {value}'.")
            s.algorithm, s.params["alpha"] = spec.name, alpha
            return f"setting alpha to {alpha:g}{kept}"
        key = "ci_test" if "ci_test" in spec.defaults else "indep_test"
        if key not in spec.defaults:
            raise InputError(f"{spec.name} uses no independence test; say e.g. 'use pc with the {value} test'.")
        name = value.lower()
        if key == "indep_test":
            name = check_ci_test(name)
        else:
            from causalpilot.tools.discovery.time_series import TS_CI_TESTS

            if name not in TS_CI_TESTS:
                raise InputError(f"{spec.name} takes tigramite's tests: {', '.join(TS_CI_TESTS)}; got '{value}'.")
        s.algorithm, s.params[key] = spec.name, name
        return f"using the {name} test{kept}"

    def agent_session(self):
        """An :class:`causalpilot.agent.agent_tools.AnalysisSession` over the current run's data, with the
        session's knowledge, seed and effect question, and every kept graph under its name: what the
        contract's agent tools read (the LLM's turns and the grammar's graph questions)."""
        from causalpilot.agent.agent_tools import AnalysisSession
        from causalpilot.agent.planners.base import Request
        from causalpilot.tools.background import parse_background

        if self.result is None or self.result.found is None:
            raise InputError("No analysis yet: load a data file first (load FILE).")
        s = self.settings
        knowledge = None
        if s.forbidden or s.required:
            knowledge = parse_background({"forbidden": [list(e) for e in s.forbidden],
                                          "required": [list(e) for e in s.required]}, self.columns(), "the chat")
        session = AnalysisSession(self.result.found.prepared, Request(treatment=s.treatment, outcome=s.outcome,
                                                                      bootstrap=s.bootstrap),
                                  seed=s.seed, background=knowledge, memory_path=self.memory_path)
        for name, g in self.graphs.items():
            session.keep(name, g)
        return session

    def query(self, query: str, node: str, graph: str | None = None) -> str:
        """The grammar's graph question ("what causes X?": the parents of X) answered by the contract's
        ``query_graph`` on a kept graph (the current one by default), the graph named in the answer."""
        from causalpilot.agent.agent_tools import AgentTools

        name = graph or self.current
        column = self.column(node)
        tools = AgentTools(self.agent_session(), by="user")
        tools.call("query_graph", {"graph_name": name, "query": query, "node": column})
        entry = tools.session.trail[-1]
        if entry.status != "ok":
            raise InputError(entry.result)
        return f"In {name} ({self._graph(name).algorithm}): {entry.result}."

    def compare(self, first: str, second: str) -> str:
        g1, g2 = self._graph(first), self._graph(second)
        d = graph_diff(g1, g2)
        lines = [f"{first} ({g1.algorithm}, {len(g1.edges)} edges) vs {second} ({g2.algorithm}, {len(g2.edges)} edges):"]
        for label, key in ((f"only in {first}", "only_in_first"), (f"only in {second}", "only_in_second"),
                           ("changed", "changed")):
            lines.append(f"  {label}: " + ("; ".join(d[key]) if d[key] else "none"))
        return "\n".join(lines)

    def _graph(self, name: str) -> CausalGraph:
        if name in self.graphs:
            return self.graphs[name]
        from causalpilot.memory.store import MemoryStore

        with MemoryStore(self.memory_path) as store:  # also graphs of earlier sessions, by full key
            item = store.get(name)
        if item and item.get("kind") == "graph":
            return CausalGraph.from_dict(item["payload"])
        raise InputError(f"No graph named '{name}' (kept: {', '.join(self.graphs) or 'none'}).")

    def show_graph(self, name: str | None) -> str:
        from causalpilot.reports.interpret import graph_summary

        g = self._graph(name) if name else self.result.graph
        lines = [f"{name}: {graph_summary(g)}"]
        for e in g.edges:
            conf = ""
            if e.confidence is not None:
                link = f", link {e.link_confidence:.2f}" if e.link_differs() else ""
                conf = f"  (confidence {e.confidence:.2f}{link})"
            lines.append(f"  {e.describe()}{conf}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ running the analysis
    def analyse(self) -> str:
        from causalpilot.agent.loop import AnalysisOptions, get_planner, run_analysis
        from causalpilot.agent.outputs import prepare_out_dir

        if not self.data:
            raise InputError("No data file: give one with `causalpilot chat DATA` or `load FILE`.")
        if self.out is None:
            from causalpilot.agent.loop import default_out

            self.out = default_out("chat-" + Path(self.data).stem)
        base = prepare_out_dir(self.out)
        k = len(self.graphs) + 1
        while f"g{k}" in self.graphs:  # a name the LLM gave a graph of its own
            k += 1
        name = f"g{k}"
        s = self.settings
        knowledge = None
        if s.forbidden or s.required:
            knowledge = {"forbidden": [list(e) for e in s.forbidden], "required": [list(e) for e in s.required]}
        planner = self.planner_factory() if self.planner_factory else None
        if planner is None and self.planner_name == "llm":
            from causalpilot.agent.planners.llm import LLMPlanner

            planner = LLMPlanner(model=self.llm_model, share_data=self.share_data)
        planner = planner or get_planner(self.planner_name)
        discovery_key = s.discovery_key(self.data)
        pair = (s.treatment, s.outcome) if s.treatment and s.outcome else (None, None)
        reuse = self._reusable() if self._discovery_key == discovery_key else None
        previous, previous_pair = self.current, self._pair
        what = "estimating on the current graph" if reuse is not None else (
            f"running {s.algorithm or 'discovery'} ({planner.name} planner)")
        print(f"  {what} on {Path(self.data).name} ...", file=self.stderr, flush=True)  # progress, as it starts
        self.result = run_analysis(AnalysisOptions(
            data=self.data, out=str(base / name), seed=s.seed, planner=self.planner_name, treatment=pair[0],
            outcome=pair[1], background=knowledge, algorithm=s.algorithm, params=dict(s.params),
            bootstrap=s.bootstrap, quiet=True, memory_path=self.memory_path, command="chat",
            share_data=self.share_data), planner=planner, structure=reuse)
        self._discovery_key, self._pair = discovery_key, pair
        self.graphs[name] = self.result.graph
        self.current = name
        self.session_key = self.session_key or self.result.run_id
        self._keep(name, self.result.graph)
        from causalpilot.reports.interpret import effect_sentence, forbidden_behind, graph_summary

        if reuse is not None and self.result.found is reuse:
            why = ("only the effect asked about changed" if pair != previous_pair else
                   "nothing the graph depends on changed")
            lines = [f"[{name}] the graph of {previous}, reused: {why}."]
        else:
            lines = [f"[{name}] {graph_summary(self.result.graph)}"]
        lines += [effect_sentence(e, forbidden_behind(e, self.result.graph, s.forbidden)) for e in self.result.effects]
        lines.append(f"Kept as '{name}'; report in {self.result.out}.")
        return "\n".join(lines)

    def _reusable(self):
        """The last run's structure when only the effect asked about can have changed: same data file and
        discovery settings (checked by the caller), the new treatment and outcome among the variables that
        run analysed, and a graph that already meets the new pair's "the outcome does not cause the
        treatment". With either planner: the LLM planner's graph is kept too (its agent is not asked to plan
        again for a new effect question)."""
        found = self.result.found if self.result is not None else None
        if found is None:
            return None
        t, y = self.settings.treatment, self.settings.outcome
        wanted = {c for c in (t, y) if c}
        if not wanted <= set(found.profile.variables):
            return None
        if t and y and not found.profile.value("time_series"):
            # asking for t's effect on y assumes y does not cause t (loop._effect_order); a graph found
            # without that knowledge is the one the knowledge would give only when it already satisfies it
            # (no t - y edge, or t -> y): a score search's optimum that meets a constraint stays optimal under it
            e = found.graph.edge_between(t, y)
            if e is not None and not (e.type == "directed" and e.source == t):
                return None
        return found

    def _keep(self, name: str, graph: CausalGraph) -> None:
        """Store the graph as SESSION/graph/<name> in the memory (a failure is reported, not fatal)."""
        from causalpilot.memory.store import MemoryStore

        try:
            with MemoryStore(self.memory_path) as store:
                store.put_item(self.result.run_id, f"{self.session_key}/graph/{name}", "graph", graph.to_dict())
        except Exception as exc:  # sqlite errors: the session goes on with its in-memory graphs
            print(f"causalpilot: warning: graph '{name}' not saved to memory ({exc})", file=self.stderr)

    def _write_history(self) -> Path | None:
        if self.out is None or not self.out.exists():
            return None
        from causalpilot.agent.outputs import write_json

        write_json(self.out, "chat_history.json", {
            "data": self.data, "session": self.session_key, "history": self.history,
            "graphs": {n: f"{self.session_key}/graph/{n}" for n in self.graphs},
            "settings": self.settings.to_dict(),
            "llm": self.transcripts})
        return self.out / "chat_history.json"

    # ------------------------------------------------------------------ the LLM path
    def ask_llm(self, msg: str) -> str:
        """A free-text turn with the LLM as analyst (:func:`causalpilot.agent.chat_llm.converse`): it reads the
        session's graphs and results through the agent tools and makes changes through the grammar's
        actions, each result shown as it comes; its reply is shown as it arrives. Nothing it writes is executed."""
        from causalpilot.agent.chat_llm import converse

        if self.result is None:
            return "No analysis yet: load a data file first (load FILE)."
        try:
            reply, transcript = converse(self, msg, self.say, model=self.llm_model)
        except Exception as exc:  # LLMFailure and anything the client raises: answer, keep the session
            return (f"The LLM could not finish that ({' '.join(str(exc).split())[:200]}); what it changed before "
                    "stays. Type /help for the requests I follow without it.")
        self.transcripts.append(transcript)
        if reply:
            self._shown = reply
            return reply
        return "Nothing to change."
