"""The graph figure: a layered drawing whose routes never cross a node they do not touch, with end
marks as Tetrad draws them and confidence labels that overlap neither nodes nor each other."""

from __future__ import annotations

import io
import random

import pytest

from causalpilot.evals.generators import linear_sem, var_process
from causalpilot.reports.figures import Box, _overlap, clashes, graph_png, layout, node_text
from causalpilot.tools.graph import CausalGraph, Edge


def _with_confidence(g: CausalGraph, seed: int) -> CausalGraph:
    rnd = random.Random(seed)
    return CausalGraph(g.nodes, [Edge(e.source, e.target, e.type, round(rnd.random(), 2), e.lag,
                                      round(rnd.random(), 2)) for e in g.edges], g.graph_type, g.algorithm)


HEALTH = CausalGraph(
    ["age", "exercise", "smoking", "bmi", "blood_pressure", "cholesterol", "heart_risk", "stress", "sleep", "income"],
    [Edge("age", "smoking", "undirected", 0.8, None, 1.0), Edge("age", "exercise", "undirected", 0.85, None, 1.0),
     Edge("age", "bmi", "undirected", 0.85), Edge("exercise", "bmi", "undirected", 0.9),
     Edge("bmi", "blood_pressure", "directed", 0.95), Edge("smoking", "blood_pressure", "directed", 0.95),
     Edge("bmi", "cholesterol", "undirected", 1.0), Edge("blood_pressure", "heart_risk", "directed", 1.0),
     Edge("cholesterol", "heart_risk", "directed", 1.0), Edge("smoking", "heart_risk", "directed", 1.0),
     Edge("age", "heart_risk", "directed", 1.0), Edge("stress", "sleep", "nondirected", 0.95)], "CPDAG", "exact")


@pytest.mark.parametrize("graph", [
    HEALTH,
    _with_confidence(linear_sem(p=15, n=10, expected_degree=3.0, seed=3).truth, 1),
    _with_confidence(linear_sem(p=30, n=10, expected_degree=3.0, seed=1).truth, 2),
    _with_confidence(var_process(p=5, n=50, seed=2, n_edges=6).truth, 3),
], ids=["health", "p15", "p30", "lagged"])
def test_no_route_passes_through_a_node_and_labels_do_not_overlap(graph):
    lay = layout(graph)
    assert set(lay.boxes) == set(graph.nodes)
    assert clashes(lay.boxes, lay.routes) == []
    boxes = list(lay.boxes.values())
    for i, a in enumerate(boxes):  # nodes are apart
        for b in boxes[i + 1:]:
            assert not _overlap((a.x, a.y, a.hw, a.hh), (b.x, b.y, b.hw, b.hh))
    labels = [lab[1:] for lab in lay.labels]
    for i, a in enumerate(labels):
        assert not any(_overlap(a, (b.x, b.y, b.hw, b.hh)) for b in boxes)
        assert not any(_overlap(a, b) for b in labels[i + 1:])
    # every route starts at its source and ends at its target
    for r in lay.routes:
        assert lay.boxes[r.edge.source].contains(*r.points[0]) and lay.boxes[r.edge.target].contains(*r.points[-1])


def test_the_clash_check_itself_sees_a_route_through_a_node():
    a, b, c = Box(0, 0, 20, 10), Box(100, 0, 20, 10), Box(200, 0, 20, 10)
    from causalpilot.reports.figures import Route

    through = Route(Edge("a", "c", "undirected"), [], [(0.0, 0.0), (200.0, 0.0)])
    around = Route(Edge("a", "c", "undirected"), [], [(0.0, 0.0), (100.0, 40.0), (200.0, 0.0)])
    boxes = {"a": a, "b": b, "c": c}
    assert clashes(boxes, [through]) == [("a", "c", "b")]
    assert clashes(boxes, [around]) == []


def test_isolated_variables_sit_in_one_row_below_and_opposite_lags_are_apart():
    lay = layout(HEALTH)
    assert lay.unlinked == ["income"]
    assert lay.boxes["income"].y > max(b.y for n, b in lay.boxes.items() if n != "income")
    g = CausalGraph(["x", "y"], [Edge("x", "y", "directed", lag=1), Edge("y", "x", "directed", lag=2)], "lagged")
    lay = layout(g)
    (r1, r2) = lay.routes
    mid = [r.points[len(r.points) // 2] for r in (r1, r2)]
    assert abs(mid[0][0] - mid[1][0]) > 10  # two visible routes, not one line drawn twice
    assert sorted(t for t, *_ in lay.labels) == ["lag 1", "lag 2"]


def test_long_names_are_kept_whole_and_broken_only_at_separators():
    assert node_text("age") == "age"
    assert node_text("blood_pressure_systolic") == "blood_pressure_systolic"  # up to 26 characters: one line
    assert node_text("systolic_blood_pressure_at_baseline") == "systolic_blood\npressure_at_baseline"
    assert node_text("averyveryverylongnamewithnoseparator") == "averyveryverylongnamewithnoseparator"


def test_png_is_deterministic_and_readable():
    from PIL import Image

    a, b = graph_png(HEALTH), graph_png(HEALTH)
    assert a == b
    img = Image.open(io.BytesIO(a))
    assert img.width >= 400 and img.height >= 300
    assert graph_png(CausalGraph(["a", "b"], [], "CPDAG", "pc"))  # no edges at all
