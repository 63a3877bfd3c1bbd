"""Background knowledge: required and forbidden edges and temporal tiers, from a JSON or YAML file.

Format (every key optional)::

    {"required": [["smoking", "cancer"]],
     "forbidden": [["cancer", "age"]],
     "tiers": [["age", "sex"], ["smoking"], ["cancer"]],
     "forbid_within_tiers": false}

A tier list means no edge may point from a later tier into an earlier one. Knowledge is handed to
every algorithm that accepts it (causal-learn's BackgroundKnowledge) and checked after the fact for
all of them: :func:`apply_to_graph` orients or removes edges so the final graph honours it, and
records each change so the report can say what the knowledge did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph, Edge, Orientation


@dataclass
class Background:
    required: list[tuple[str, str]] = field(default_factory=list)
    forbidden: list[tuple[str, str]] = field(default_factory=list)
    tiers: list[list[str]] = field(default_factory=list)
    forbid_within_tiers: bool = False

    def is_empty(self) -> bool:
        return not (self.required or self.forbidden or self.tiers)

    def tier_of(self, node: str) -> int | None:
        for k, tier in enumerate(self.tiers):
            if node in tier:
                return k
        return None

    def forbids(self, a: str, b: str) -> bool:
        """Is the directed edge a -> b ruled out?"""
        if (a, b) in self.forbidden:
            return True
        ta, tb = self.tier_of(a), self.tier_of(b)
        if ta is not None and tb is not None:
            if ta > tb:
                return True
            if ta == tb and self.forbid_within_tiers:
                return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"required": [list(e) for e in self.required], "forbidden": [list(e) for e in self.forbidden],
                "tiers": [list(t) for t in self.tiers], "forbid_within_tiers": self.forbid_within_tiers}

    def to_causallearn(self, nodes: list[str]):
        """A causal-learn BackgroundKnowledge over GraphNodes named as ``nodes``."""
        from causallearn.graph.GraphNode import GraphNode
        from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

        bk = BackgroundKnowledge()
        gn = {n: GraphNode(n) for n in nodes}
        for a, b in self.forbidden:
            if a in gn and b in gn:
                bk.add_forbidden_by_node(gn[a], gn[b])
        for a, b in self.required:
            if a in gn and b in gn:
                bk.add_required_by_node(gn[a], gn[b])
        for k, tier in enumerate(self.tiers):
            for n in tier:
                if n in gn:
                    bk.add_node_to_tier(gn[n], k)
            if self.forbid_within_tiers:
                bk.forbid_within_tier(k)
        return bk

    def forbidden_matrix(self, nodes: list[str]):
        """LiNGAM-style prior knowledge: pk[j, i] = 0 means no directed path i -> j; -1 unknown; 1 required."""
        import numpy as np

        idx = {n: i for i, n in enumerate(nodes)}
        pk = -np.ones((len(nodes), len(nodes)), dtype=int)
        for a in nodes:
            for b in nodes:
                if a != b and self.forbids(a, b):
                    pk[idx[b], idx[a]] = 0
        for a, b in self.required:
            if a in idx and b in idx:
                pk[idx[b], idx[a]] = 1
        return pk


def load_background(path: str | Path, columns: list[str]) -> Background:
    """Read and validate a knowledge file against the data's columns; InputError on any problem."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise InputError(f"Background knowledge file '{name}' does not exist.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"Background knowledge file '{name}' is not UTF-8 text.") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except Exception as exc:  # json/yaml parse errors carry positions worth showing
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"Background knowledge file '{name}' is not valid JSON/YAML: {first}.") from None
    return parse_background(raw, columns, name)


def resolve_background(spec: Any, columns: list[str]) -> Background | None:
    """Background knowledge from whatever a caller holds: None, a :class:`Background`, a mapping
    ``{"required": [[a, b]], "forbidden": [[a, b]], "tiers": [[...], ...]}``, or the path of a JSON/YAML
    file holding one. Checked against ``columns``; raises :class:`InputError` with one sentence."""
    if spec is None:
        return None
    if isinstance(spec, Background):
        return parse_background(spec.to_dict(), columns, "background")
    if isinstance(spec, dict):
        return parse_background(spec, columns, "background")
    if isinstance(spec, (str, Path)):
        return load_background(spec, columns)
    raise InputError(f"Background knowledge must be a mapping or a JSON/YAML file path, not {type(spec).__name__}.")


def describe_background(spec: Any) -> Any:
    """What run.json records of the background a caller gave: the file's path, or the knowledge itself."""
    if spec is None or isinstance(spec, (str, Path)):
        return None if spec is None else str(spec)
    return spec.to_dict() if isinstance(spec, Background) else dict(spec)


def with_effect_order(bg: Background | None, treatment: str, outcome: str) -> tuple[Background | None, str | None]:
    """Add "``outcome`` does not cause ``treatment``" (the forbidden edge outcome -> treatment) to the
    knowledge, as asking for the effect of the treatment on the outcome presumes.

    Returns the knowledge (a new object; ``bg`` is not changed) and a sentence saying what was assumed,
    or (``bg``, reason) unchanged when the user's own knowledge already settles the pair (it requires
    outcome -> treatment, which wins, or already forbids it); (bg, None) when nothing applies."""
    base = bg or Background()
    if (outcome, treatment) in base.required:
        return bg, (f"not assumed that {outcome} does not cause {treatment}: your background knowledge requires "
                    f"{outcome} -> {treatment}")
    if base.forbids(outcome, treatment):
        return bg, None
    merged = Background(list(base.required), [*base.forbidden, (outcome, treatment)], [list(t) for t in base.tiers],
                        base.forbid_within_tiers)
    return merged, (f"assumed that {outcome} does not cause {treatment}, as asking for the effect of {treatment} on "
                    f"{outcome} presumes: the edge {outcome} -> {treatment} is forbidden in discovery and on the final "
                    "graph (--no-order drops this assumption)")


def parse_background(raw: Any, columns: list[str], name: str = "background") -> Background:
    if raw is None:
        return Background()
    if not isinstance(raw, dict):
        raise InputError(f"Background knowledge in '{name}' must be a mapping with keys required/forbidden/tiers.")
    unknown = set(raw) - {"required", "forbidden", "tiers", "forbid_within_tiers"}
    if unknown:
        raise InputError(f"Background knowledge in '{name}' has unknown key(s): {', '.join(sorted(unknown))}.")
    cols = set(columns)

    def pairs(key: str) -> list[tuple[str, str]]:
        out = []
        for item in raw.get(key) or []:
            if not (isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(v, str) for v in item)):
                raise InputError(f"Background knowledge '{key}' in '{name}' must list [source, target] name pairs; got {item!r:.60}.")
            for v in item:
                if v not in cols:
                    raise InputError(f"Background knowledge in '{name}' names column '{v}', which is not in the data.")
            out.append((item[0], item[1]))
        return out

    required, forbidden = pairs("required"), pairs("forbidden")
    tiers = []
    for tier in raw.get("tiers") or []:
        if isinstance(tier, str):
            tier = [tier]
        if not isinstance(tier, list) or not all(isinstance(v, str) for v in tier):
            raise InputError(f"Background knowledge 'tiers' in '{name}' must be a list of lists of column names.")
        for v in tier:
            if v not in cols:
                raise InputError(f"Background knowledge in '{name}' names column '{v}', which is not in the data.")
        tiers.append(list(tier))
    bg = Background(required, forbidden, tiers, bool(raw.get("forbid_within_tiers", False)))
    for a, b in required:
        if bg.forbids(a, b):
            raise InputError(f"Background knowledge in '{name}' both requires and forbids the edge {a} -> {b}.")
    return bg


def apply_to_graph(graph: CausalGraph, bg: Background) -> tuple[CausalGraph, list[str]]:
    """Make ``graph`` honour the knowledge; return it and a line per change made.

    - an edge whose only allowed direction is fixed by the knowledge is oriented that way;
    - on a PAG's circle marks, a forbidden direction turns the circle at its source into an arrowhead
      (o-o becomes o->, o-> becomes <->): it rules out that cause, not a hidden common cause;
    - a directed edge pointing a forbidden way is reversed if the reverse is allowed, else removed;
    - a required edge missing from the graph is added (knowledge outranks the data, and we say so).

    Every edge changed or added carries ``Orientation("background", reason)``.
    """
    if bg.is_empty():
        return graph, []

    def by_knowledge(why: str) -> Orientation:
        return Orientation("background", why)

    notes: list[str] = []
    edges: list[Edge] = []
    for e in graph.edges:
        a, b = e.source, e.target
        lag_ok = not e.lag  # knowledge speaks of contemporaneous edges only
        if not lag_ok:
            edges.append(e)
            continue
        fwd, back = bg.forbids(a, b), bg.forbids(b, a)
        req_fwd, req_back = (a, b) in bg.required, (b, a) in bg.required
        if e.type == "directed":
            if fwd and not back:
                edges.append(replace(e, source=b, target=a, type="directed",
                                     orientation=by_knowledge(f"the knowledge forbids {a} -> {b}")))
                notes.append(f"reversed {a} -> {b}: the knowledge forbids that direction")
            elif fwd and back:
                notes.append(f"removed {a} -> {b}: the knowledge forbids both directions")
            else:
                edges.append(e)
        elif e.type in ("nondirected", "partially_directed", "bidirected") and not (req_fwd or req_back):
            # a PAG's marks: a circle may be a tail or an arrowhead, and a forbidden a -> b only rules out
            # the tail at a, so it leaves a <-> b (a hidden common cause) possible: marks become arrowheads
            arrow_at_a = fwd or e.type == "bidirected" or (e.type == "partially_directed" and e.source == b)
            arrow_at_b = back or e.type == "bidirected" or (e.type == "partially_directed" and e.source == a)
            if arrow_at_a and arrow_at_b:
                new = replace(e, source=a, target=b, type="bidirected")
            elif arrow_at_b:
                new = replace(e, source=a, target=b, type="partially_directed")
            elif arrow_at_a:
                new = replace(e, source=b, target=a, type="partially_directed")
            else:
                new = e
            if new.type != e.type or (new.source, new.target) != (e.source, e.target):
                new = replace(new, orientation=by_knowledge("the knowledge forbids "
                                                            + (f"{a} -> {b}" if fwd and not back else
                                                               f"{b} -> {a}" if back and not fwd else
                                                               f"{a} -> {b} and {b} -> {a}")))
                notes.append(f"{e.describe()} became {new.describe()}: the knowledge rules out a tail there, "
                             "which leaves an arrowhead (a hidden common cause stays possible)")
            edges.append(new)
        else:
            if (fwd and back) and not (req_fwd or req_back):
                notes.append(f"removed {e.describe()}: the knowledge forbids both directions")
            elif req_fwd or (back and not fwd):
                why = "required by the knowledge" if req_fwd else f"the knowledge forbids {b} -> {a}"
                edges.append(replace(e, source=a, target=b, type="directed", orientation=by_knowledge(why)))
                notes.append(f"oriented {a} -> {b} by the knowledge")
            elif req_back or (fwd and not back):
                why = "required by the knowledge" if req_back else f"the knowledge forbids {a} -> {b}"
                edges.append(replace(e, source=b, target=a, type="directed", orientation=by_knowledge(why)))
                notes.append(f"oriented {b} -> {a} by the knowledge")
            else:
                edges.append(e)
    present = {frozenset((e.source, e.target)) for e in edges}
    for a, b in bg.required:
        if a in graph.nodes and b in graph.nodes and frozenset((a, b)) not in present:
            edges.append(Edge(a, b, "directed", None, 0 if graph.graph_type == "lagged" else None,
                              orientation=by_knowledge("required by the knowledge; the data did not show it")))
            notes.append(f"added {a} -> {b}: required by the knowledge although the data did not show it")
    return CausalGraph(graph.nodes, edges, graph.graph_type, graph.algorithm, dict(graph.parameters)), notes
