"""`causalpilot mcp`: the agent tools served over the Model Context Protocol, on stdio.

A thin adapter. The tools are the contract's agent tools (:data:`causalpilot.agent.agent_tools.TOOLS`,
docs/CONTRACT.md "Agent tools"), run by :class:`~causalpilot.agent.agent_tools.AgentTools` with the
same argument schemas, checks and JSON results as for the LLM planner; the one tool added here,
``load_data``, reads and profiles a file through the same steps as ``analyse`` (tools/loading.py,
tools/profile/, the knowledge of :func:`causalpilot.agent.loop.knowledge_in_force`) and starts a new
:class:`~causalpilot.agent.agent_tools.AnalysisSession` on it. Every graph the tools make or change
is kept in the keyed memory as ``<run-id>/graph/<graph_name>``; ``finish`` records the run's final
graph as ``<run-id>/graph``.

A call that is rejected (invalid arguments, an unreadable file, no data loaded yet, a proposal the
data refuse) is a tool error (``isError``) whose text is ``{"rejected": reason}``: one sentence, never
a traceback. The server needs the official MCP Python SDK (the ``mcp`` extra, which brings pydantic);
langchain (the ``llm`` extra) is not used. :func:`build_server` imports the SDK; importing this module
does not.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from causalpilot.agent.agent_tools import TOOLS, AgentTools, AnalysisSession, short
from causalpilot.prompts import quote_data
from causalpilot.tools.errors import InputError

MISSING_SDK = "The MCP server needs the MCP Python SDK: pip install 'causalpilot[mcp]'."
NO_DATA = "no data loaded: call load_data with the path of a CSV, TSV or Parquet file first"
INSTRUCTIONS = (
    "causalpilot: causal discovery and effect estimation on a data file. Start with load_data (a CSV, TSV or "
    "Parquet path; name treatment and outcome when an effect is asked), then list_algorithms, run_discovery "
    "(keeps a graph under a name), assess_stability, query_graph or compare_graphs, estimate_effect on a graph, "
    "and finish with the graph you would report. Results are JSON; a rejected call says why.")


class LoadArgs(BaseModel):
    path: str = Field(description="a CSV, TSV, Parquet or Excel file on this machine, as the user named it")
    treatment: str | None = Field(None, description="the treatment column of the effect asked about (with outcome)")
    outcome: str | None = Field(None, description="the outcome column of the effect asked about (with treatment)")
    time_index: str | None = Field(None, description="a column holding time; rows are ordered by it")
    time_series: bool = Field(False, description="the rows are consecutive time steps")
    domain_index: str | None = Field(None, description="a column naming the domain or regime of each row")
    background: str | None = Field(None, description="a knowledge file (JSON/YAML): required and forbidden edges, "
                                   "tiers")


LOAD_DATA = ("load_data", LoadArgs, "Load and profile a data file (only a file the user named); the other tools "
             "work on the data loaded last. Naming treatment and outcome assumes the outcome does not cause the "
             "treatment. Returns the run id, the variables and the profile's findings in a sentence each.")


class McpTools:
    """What the MCP server holds: the data loaded last with its analysis session and agent tools.

    ``seed`` seeds every random step (profile, discovery, bootstrap, estimation: the same seed and
    data give the same results); ``memory_path`` is the memory database (None: the default store;
    False: nothing is recorded and no earlier run's graph can be read). Calls run one at a time."""

    def __init__(self, seed: int = 0, memory_path: Any = None):
        self.seed, self.memory_path = seed, memory_path
        self.session: AnalysisSession | None = None
        self.tools: AgentTools | None = None
        self.run_id: str | None = None
        self._lock = threading.Lock()

    @staticmethod
    def catalogue() -> list[tuple[str, type[BaseModel], str]]:
        """Every tool served: (name, argument schema, description); ``load_data`` first."""
        return [LOAD_DATA] + [(name, schema, description) for name, schema, description, _ in TOOLS]

    def call(self, name: str, arguments: dict[str, Any] | None) -> tuple[str, bool]:
        """Run tool ``name``; returns (its JSON text, whether it was rejected)."""
        from causalpilot.tools.budget import DEFAULT_BUDGET_S, time_budget

        with self._lock, time_budget(DEFAULT_BUDGET_S):
            if name == "load_data":
                try:
                    text = quote_data(self.load(LoadArgs.model_validate(dict(arguments or {}))))
                except ValidationError as exc:
                    return _rejected("; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                                               for e in exc.errors()))
                except InputError as exc:
                    return _rejected(str(exc))
                except Exception as exc:  # data the profile cannot read: an answer for the client, not a crash
                    return _rejected(f"load_data failed: {type(exc).__name__}: {short(exc, 300)}")
                return text, False
            if self.tools is None:
                known = {n for n, _, _ in self.catalogue()}
                return _rejected(NO_DATA if name in known else f"no tool '{name}'; the tools are "
                                 f"{', '.join(n for n, _, _ in self.catalogue())}")
            text = self.tools.call(name, dict(arguments or {}))
            result = json.loads(text)
            rejected = isinstance(result, dict) and "rejected" in result
            if not rejected:
                self._remember(name, dict(arguments or {}))
            return text, rejected

    # ------------------------------------------------------------------ load_data
    def load(self, a: LoadArgs) -> dict[str, Any]:
        """Load and profile ``a.path`` as ``analyse`` does, and start a new session on it.

        Raises InputError (one sentence) for a missing or unreadable file, an unknown column, half an
        effect pair, an unreadable knowledge file or data that cannot be analysed."""
        from pathlib import Path

        from causalpilot.agent.loop import (AnalysisOptions, check_columns, check_options, derive_seed,
                                            knowledge_in_force, make_run_id, profile_notes)
        from causalpilot.agent.planners.base import Request
        from causalpilot.tools.loading import load_table
        from causalpilot.tools.profile import profile_and_prepare

        path = str(Path(a.path).expanduser())
        opts = AnalysisOptions(data=path, seed=self.seed, treatment=a.treatment, outcome=a.outcome,
                               time_index=a.time_index, time_series=a.time_series, domain_index=a.domain_index,
                               background=a.background, memory_path=self.memory_path, command="mcp")
        check_options(opts)
        ds = load_table(path, stream=None, seed=derive_seed(self.seed, "sample"))
        check_columns(opts, ds, reads_question=False)
        prepared = profile_and_prepare(ds, seed=derive_seed(self.seed, "profile"), time_index=a.time_index,
                                       time_series=a.time_series, domain_index=a.domain_index,
                                       keep=[c for c in (a.treatment, a.outcome) if c])
        if ds.table is not None:  # a streamed file: the means and covariances of all its rows, as analyse does
            from causalpilot.tools.streaming import summarise

            prepared.streamed = summarise(ds, prepared)
        request = Request(treatment=a.treatment, outcome=a.outcome)
        background, given, _, _ = knowledge_in_force(ds, prepared, request, a.background)
        if self.tools is not None:
            self.tools.close()
        self.session = AnalysisSession(prepared, request, seed=self.seed, background=background,
                                       memory_path=self.memory_path)
        self.tools = AgentTools(self.session, by="mcp")
        self.run_id = make_run_id(ds.sha256)
        profile = prepared.profile
        self._save_run(ds, status="open", summary={}, items={f"{self.run_id}/profile": ("profile", profile.to_dict())})
        return {"run_id": self.run_id, "path": ds.path, "rows": ds.n_rows, "columns": ds.n_cols,
                "streamed": ds.streamed, "variables": list(profile.variables),
                "time_index": profile.time_index, "domain_index": profile.domain_index,
                "treatment": a.treatment, "outcome": a.outcome,
                "findings": {k: short(f.summary, 240) for k, f in profile.findings.items() if f.summary},
                "notes": profile_notes(profile) + [short(d.reason, 240) for d in given if d.reason],
                "graphs_kept_as": f"{self.run_id}/graph/<graph_name>"}

    # ------------------------------------------------------------------ the memory
    def _remember(self, name: str, args: dict[str, Any]) -> None:
        """Keep the graph a call made or changed as RUN/graph/NAME; on ``finish``, the run's final graph
        and its effects too."""
        s = self.session
        graph_name = args.get("graph_name")
        if name in ("run_discovery", "assess_stability", "review_edge") and graph_name in s.graphs:
            self._write(lambda store: store.put_item(self.run_id, f"{self.run_id}/graph/{graph_name}", "graph",
                                                     s.graphs[graph_name].graph.to_dict()))
        elif name == "finish" and s.final is not None:
            ng = s.graphs[s.final]
            effects = [e for (g, _, _), (found, _) in s.effects.items() if g == ng.name for e in found]
            summary = {"algorithm": ng.plan.algorithm, "n_edges": len(ng.graph.edges), "n_effects": len(effects),
                       "final": ng.name}
            self._save_run(None, status="done", summary=summary, items={
                f"{self.run_id}/graph": ("graph", ng.graph.to_dict()),
                f"{self.run_id}/graph/{ng.name}": ("graph", ng.graph.to_dict()),
                f"{self.run_id}/effects": ("effects", effects)})

    def _save_run(self, ds: Any, *, status: str, summary: dict[str, Any], items: dict[str, tuple[str, Any]]) -> None:
        from pathlib import Path

        data_path = str(Path(ds.path).resolve()) if ds is not None and ds.path else None
        self._write(lambda store: store.save_run(self.run_id, data_path=data_path,
                                                 data_sha256=None if ds is None else ds.sha256, command="mcp",
                                                 status=status, summary=summary, items=items))

    def _write(self, write) -> None:
        """One write to the memory; a failure is a warning on stderr (stdout carries the protocol)."""
        if self.memory_path is False:
            return
        from causalpilot.memory.store import MemoryStore

        try:
            with MemoryStore(self.memory_path) as store:
                write(store)
        except Exception as exc:  # sqlite3 errors, permissions, a full disk: the tools go on
            print(f"causalpilot mcp: warning: not saved to memory ({type(exc).__name__}: {exc})", file=sys.stderr)


def _rejected(reason: str) -> tuple[str, bool]:
    return quote_data({"rejected": reason}), True


def build_server(tools: McpTools):
    """An MCP ``Server`` (the SDK's low-level server) that lists :meth:`McpTools.catalogue` with each
    tool's pydantic schema as its input schema and runs calls through :meth:`McpTools.call` in a worker
    thread. ImportError when the SDK is not installed."""
    import anyio
    from mcp import types
    from mcp.server import Server

    from causalpilot import __version__

    listed = [types.Tool(name=name, description=description, input_schema=schema.model_json_schema())
              for name, schema, description in tools.catalogue()]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        text, rejected = await anyio.to_thread.run_sync(tools.call, params.name, params.arguments)
        result = json.loads(text)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=rejected,
                                    structured_content=result if isinstance(result, dict) else None)

    return Server("causalpilot", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool)


def serve(data: str | None = None, *, seed: int = 0, memory_path: Any = None) -> None:
    """Serve the tools over stdio until the client closes the connection. ``data``: a file loaded (as by
    ``load_data``) before serving. Raises InputError for a bad ``data`` file and when the SDK is missing."""
    try:
        import anyio
        from mcp.server.stdio import stdio_server
    except ImportError:
        raise InputError(MISSING_SDK) from None
    tools = McpTools(seed=seed, memory_path=memory_path)
    if data is not None:
        tools.load(LoadArgs(path=data))
    server = build_server(tools)

    async def run() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(run)
