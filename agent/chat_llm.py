"""The chat's LLM path: free text -> the chat grammar's actions, through validated tool calls.

The model never acts: each tool only records an action after checking its arguments (columns exist,
the algorithm is registered); the session then applies the recorded actions exactly as if the user
had typed the grammar's sentences.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from causalpilot.agent.llm_runtime import Counters, LLMConfig, Transcript, final_text, make_chat_model, run_agent
from causalpilot.prompts import render_prompt
from causalpilot.tools.errors import InputError
from causalpilot.tools.registry import get_algorithm


class AlgorithmArg(BaseModel):
    algorithm: str = Field(description="a registered discovery algorithm, e.g. 'pc', 'fci'")


class EdgeArg(BaseModel):
    source: str
    target: str


class ColumnArg(BaseModel):
    column: str


class EffectArg(BaseModel):
    treatment: str
    outcome: str


class CompareArg(BaseModel):
    first: str = Field(description="name of a kept graph, e.g. 'g1'")
    second: str


def interpret(message: str, columns: list[str], graphs: list[str], model: Any = None,
              cfg: LLMConfig | None = None) -> tuple[list[tuple[str, dict]], str, dict]:
    """Return (actions, the model's closing sentence, the transcript of this turn)."""
    from langchain_core.tools import StructuredTool

    cfg = cfg or LLMConfig.from_env()
    transcript = Transcript(config=cfg.public())
    model = model or make_chat_model(cfg, transcript)
    counters = Counters(cfg)
    actions: list[tuple[str, dict]] = []

    def check_cols(*names: str) -> str | None:
        bad = [n for n in names if n not in columns]
        if bad:
            counters.error(f"unknown column {bad[0]!r}")
            return f"rejected: '{bad[0]}' is not a column; the columns are {columns}"
        return None

    def use_algorithm(algorithm: str) -> str:
        try:
            name = get_algorithm(algorithm).name
        except InputError as exc:
            counters.error(str(exc))
            return f"rejected: {exc}"
        actions.append(("use_algorithm", {"algorithm": name}))
        return "recorded"

    def edge_tool(kind: str):
        def fn(source: str, target: str) -> str:
            err = check_cols(source, target)
            if err:
                return err
            actions.append((kind, {"source": source, "target": target}))
            return "recorded"
        return fn

    def forbid_edges_into(column: str) -> str:
        err = check_cols(column)
        if err:
            return err
        actions.append(("forbid_edges_into", {"column": column}))
        return "recorded"

    def estimate_effect(treatment: str, outcome: str) -> str:
        err = check_cols(treatment, outcome)
        if err:
            return err
        actions.append(("estimate_effect", {"treatment": treatment, "outcome": outcome}))
        return "recorded"

    def compare_graphs(first: str, second: str) -> str:
        bad = [g for g in (first, second) if g not in graphs]
        if bad:
            counters.error(f"unknown graph {bad[0]!r}")
            return f"rejected: no graph '{bad[0]}'; kept graphs: {graphs}"
        actions.append(("compare_graphs", {"first": first, "second": second}))
        return "recorded"

    mk = StructuredTool.from_function
    tools = [
        mk(func=use_algorithm, name="use_algorithm", args_schema=AlgorithmArg, description="Rerun with this algorithm."),
        mk(func=edge_tool("forbid_edge"), name="forbid_edge", args_schema=EdgeArg,
           description="Rule out the directed edge source -> target."),
        mk(func=forbid_edges_into, name="forbid_edges_into", args_schema=ColumnArg,
           description="Rule out every edge pointing into this column."),
        mk(func=edge_tool("require_edge"), name="require_edge", args_schema=EdgeArg,
           description="Insist on the directed edge source -> target."),
        mk(func=estimate_effect, name="estimate_effect", args_schema=EffectArg,
           description="Estimate the causal effect of treatment on outcome."),
        mk(func=compare_graphs, name="compare_graphs", args_schema=CompareArg,
           description="Show the edge differences between two kept graphs."),
    ]
    prompt = render_prompt("chat", variables=columns, graphs=graphs, message=message)
    messages = run_agent(model, tools, system=render_prompt("system"), prompt=prompt, cfg=cfg, stage="chat",
                         transcript=transcript, counters=counters)
    return actions, final_text(messages)[:500], transcript.to_dict()
