"""An effect must not rest on an edge direction the bootstrap does not back (tools.bootstrap).

Data with a known effect (x -> y, effect 1.0, confounded by a); the graph handed to inference has the
x - y edge the wrong way round, as a full-data run can when a v-structure is a coin flip.
"""


import numpy as np
import pandas as pd

from causalpilot.tools.background import Background, apply_to_graph
from causalpilot.tools.bootstrap import BootstrapResult, unsettled_directions
from causalpilot.tools.graph import CausalGraph, Edge, Orientation
from causalpilot.tools.inference.run import EffectRequest, run_inference
from causalpilot.tools.profile import PreparedData
from helpers import NumericProfile


def _data(n=2000, seed=4):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    x = 0.8 * a + rng.normal(size=n)
    y = 1.0 * x + 0.9 * a + rng.normal(size=n)
    return PreparedData(frame=pd.DataFrame({"a": a, "x": x, "y": y}), profile=NumericProfile())


def _graph():  # y -> x is wrong: the truth is x -> y
    return CausalGraph(["a", "x", "y"], [Edge("a", "x", "directed"), Edge("a", "y", "directed"),
                                         Edge("y", "x", "directed")], graph_type="CPDAG")


def _boot(y_to_x: float, x_to_y: float) -> BootstrapResult:
    return BootstrapResult(20, {("a", "x", "directed", None): 1.0, ("a", "y", "directed", None): 1.0,
                                ("y", "x", "directed", None): y_to_x, ("x", "y", "directed", None): x_to_y})


REQUEST = EffectRequest(treatment="x", outcome="y", seed=0)


def test_a_split_direction_is_left_open_and_the_range_covers_the_true_effect():
    prepared = _data()
    alone, _ = run_inference(prepared, _graph(), REQUEST)
    # the wrong direction alone makes the graph's answer zero; the data's zero check contradicts it
    assert not alone[0].structural_zero and alone[0].zero_check["contradicted"] and alone[0].estimate != 0.0

    effects, decisions = run_inference(prepared, _graph(), REQUEST, boot=_boot(0.5, 0.5))
    eff = effects[0]
    lo, hi = eff.estimate_range
    assert eff.estimate is None and not eff.identified
    assert lo <= 0.0 and any(abs(e.estimate - 1.0) < 0.1 for e in eff.estimates)
    assert lo - 0.1 <= 1.0 <= hi + 0.1
    opened = next(d for d in decisions if d.step == "inference.unsettled_directions")
    assert opened.choice == ["y -> x"] and opened.evidence["y -> x"]["this_way"] == 0.5
    assert "y -> x (that way round in 50%" in eff.notes[0]


def test_clear_majority_directions_and_directions_from_knowledge_stand():
    assert unsettled_directions(_graph(), _boot(0.8, 0.1)) == []
    assert [u["edge"] for u in unsettled_directions(_graph(), _boot(0.4, 0.4))] == ["y -> x"]
    # the share counts only resamples that contain the pair: 9 of the 10 that have it is a clear majority
    assert unsettled_directions(_graph(), _boot(0.45, 0.05)) == []
    # a bare majority of 20 resamples (13 of 20) is within a coin flip's reach; 15 of 20 is not
    assert [u["edge"] for u in unsettled_directions(_graph(), _boot(0.65, 0.35))] == ["y -> x"]
    assert unsettled_directions(_graph(), _boot(0.75, 0.25)) == []
    knows = Background(required=[("y", "x")])
    assert unsettled_directions(_graph(), _boot(0.5, 0.5), knows) == []
    tiers = Background(tiers=[["a"], ["y"], ["x"]])
    assert unsettled_directions(_graph(), _boot(0.5, 0.5), tiers) == []
    # no bootstrap, or a PAG whose marks mean something else: nothing is opened
    assert unsettled_directions(_graph(), BootstrapResult(0, {})) == []
    pag = CausalGraph(["a", "x", "y"], list(_graph().edges), graph_type="PAG")
    assert unsettled_directions(pag, _boot(0.5, 0.5)) == []


def test_directions_set_after_the_resampled_algorithm_are_read_from_the_edges():
    """No string matching: each edge's Orientation says whether the bootstrap has a say on its direction."""
    def with_yx(orientation):
        g = _graph()
        return CausalGraph(g.nodes, [e if (e.source, e.target) != ("y", "x") else Edge("y", "x", "directed",
                                     orientation=orientation) for e in g.edges], "CPDAG")

    for by in ("llm_review", "additive_noise", "background"):
        assert unsettled_directions(with_yx(Orientation(by, "r")), _boot(0.5, 0.5)) == []
    # mechanism changes orient inside the resampled algorithm: the bootstrap does judge them
    assert [u["edge"] for u in unsettled_directions(with_yx(Orientation("domain_change")), _boot(0.5, 0.5))] \
        == ["y -> x"]


def test_background_knowledge_marks_the_edges_it_orients_and_adds():
    """The truth is x -> y and a -> x; the data left x - y open and missed a -> x; the knowledge requires both."""
    found = CausalGraph(["a", "x", "y"], [Edge("x", "y", "undirected"), Edge("a", "y", "directed")], "CPDAG", "pc")
    graph, notes = apply_to_graph(found, Background(required=[("x", "y"), ("a", "x")]))
    xy, ax, ay = graph.edge_between("x", "y"), graph.edge_between("a", "x"), graph.edge_between("a", "y")
    assert (xy.source, xy.target, xy.type, xy.oriented_by) == ("x", "y", "directed", "background")
    assert xy.orientation.reason == "required by the knowledge"
    assert ax.oriented_by == "background" and "did not show it" in ax.orientation.reason
    assert ay.oriented_by == "data" and len(notes) == 2
    edges = {(e["source"], e["target"]): e for e in graph.to_dict()["edges"]}
    assert edges[("x", "y")]["oriented_by"] == "background" and "oriented_by" not in edges[("a", "y")]
    # the bootstrap leaves the knowledge's directions alone, told by the edges alone
    boot = BootstrapResult(20, {("x", "y", "directed", None): 0.5, ("y", "x", "directed", None): 0.5,
                                ("a", "y", "directed", None): 1.0})
    assert unsettled_directions(graph, boot) == []
