"""The peer's scenarios made its way (evals.generators.peer_sem), the held-out families, and the adjustment
identification distance beside SHD/F1 (evals.metrics.adjustment_distances, gadjid)."""

from __future__ import annotations

import numpy as np
import pytest

from causalpilot.evals.generators import peer_sem
from causalpilot.evals.metrics import adjustment_distances, score
from causalpilot.evals.suites import PEER_HELD_OUT, get_suite
from causalpilot.tools.graph import CausalGraph, Edge


def test_the_peer_graph_has_a_fixed_edge_count_and_weights_on_its_ranges():
    for p, prob in ((10, 0.2), (10, 0.5), (50, 0.2)):
        syn = peer_sem(p=p, edge_prob=prob, seed=3)
        assert len(syn.truth.edges) == int(prob * p * (p - 1) / 2) == syn.meta["n_edges"]
    syn = peer_sem(seed=4)
    w = np.abs(syn.weights[syn.weights != 0])
    assert w.min() >= 0.5 and w.max() <= 2.0 and (syn.weights < 0).any() and (syn.weights > 0).any()
    weak = peer_sem(seed=4, weight_range=(0.1, 0.5)).weights
    assert np.abs(weak[weak != 0]).max() <= 0.5
    # noise of scale 0.1: a root's standard deviation is about 0.1
    roots = [v for v in syn.truth.nodes if not any(e.target == v for e in syn.truth.edges)]
    assert all(0.08 < syn.data[r].std() < 0.12 for r in roots)


def test_domains_shift_the_least_connected_nodes_and_are_named_domain_index():
    syn = peer_sem(domains=5, seed=2)
    df = syn.data
    assert sorted(df["domain_index"].unique()) == [1, 2, 3, 4, 5] and "domain_index" not in syn.truth.nodes
    assert (np.diff(df["domain_index"].to_numpy()) != 0).sum() > 100  # rows shuffled, not blocks
    degree = {v: sum(v in (e.source, e.target) for e in syn.truth.edges) for v in syn.truth.nodes}
    assert len(syn.meta["shifted"]) == 3 and max(degree[v] for v in syn.meta["shifted"]) <= sorted(degree.values())[3]
    means = df.groupby("domain_index").mean()
    for v in syn.truth.nodes:  # the shift grows with the domain on the shifted nodes only
        rising = np.all(np.diff(means[v].to_numpy()) > 0.3)
        assert rising == (v in syn.meta["shifted"]), v
    # held-out: the shift enters the mechanism and reaches the children
    held = peer_sem(domains=3, domain_variance=True, seed=2)
    child = next((e.target for e in held.truth.edges if e.source in held.meta["shifted"]), None)
    if child is not None:
        assert held.data.groupby("domain_index")[child].mean().std() > 0.05


def test_measurement_error_is_a_fixed_sd_on_half_the_columns():
    clean, noisy = peer_sem(seed=6), peer_sem(seed=6, measurement_error=True)
    cols = noisy.meta["measurement_error"]
    assert len(cols) == 5
    for c in clean.truth.nodes:  # the same rows and latent data; the error's variance is 0.3^2 where added
        extra = noisy.data[c].var() - clean.data[c].var()
        assert (abs(extra - 0.09) < 0.03) if c in cols else abs(extra) < 1e-9, (c, extra)


def test_adjustment_identification_distance_against_known_graphs():
    truth = CausalGraph(["a", "b", "c"], [Edge("a", "b", "directed"), Edge("b", "c", "directed")], "DAG")
    assert adjustment_distances(truth, truth) == {"parent_aid": 0.0, "ancestor_aid": 0.0, "oset_aid": 0.0}
    reversed_collider = CausalGraph(["a", "b", "c"], [Edge("a", "b", "directed"), Edge("c", "b", "directed")], "CPDAG")
    d = adjustment_distances(reversed_collider, truth)
    assert 0 < d["parent_aid"] < 1 and 0 < d["oset_aid"] < 1
    # a PAG or a bidirected edge has no adjustment sets in gadjid's sense: not scored
    pag = CausalGraph(["a", "b", "c"], [Edge("a", "b", "bidirected")], "PAG")
    assert adjustment_distances(pag, truth) == {"parent_aid": None, "ancestor_aid": None, "oset_aid": None}
    assert score(truth, truth)["parent_aid"] == 0.0


def test_the_peer_suite_has_the_papers_scenarios_and_held_out_families():
    suite = get_suite("copilot-peer", 0, 1)
    names = {d.scenario for d in suite.datasets}
    assert {"default", "dense", "measurement_error", "heterogeneous", "non_gaussian", "p50"} <= names
    assert set(PEER_HELD_OUT) <= names and suite.baselines == ("pc", "fci", "ges", "direct_lingam")
    with pytest.raises(ValueError, match="the peer's noises"):
        peer_sem(p=3, noise="laplace", seed=0)
