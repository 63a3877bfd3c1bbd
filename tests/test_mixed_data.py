"""Binary variables among measurements: a CI test and a score that fit their type."""

from __future__ import annotations

import numpy as np

from causalpilot.agent.loop import find_structure
from causalpilot.agent.planners.base import Request
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.evals.heldout.binary import sim
from causalpilot.tools.ci.mixed import MixedLRT
from causalpilot.tools.loading import Dataset


def test_the_mixed_test_reads_a_logistic_dependence_and_its_absence():
    rng = np.random.default_rng(1)
    n = 3000
    z = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-2 * z))).astype(float)  # z -> t (logistic)
    y = z + rng.normal(size=n)  # z -> y: t and y are independent given z
    b = (rng.random(n) < 1 / (1 + np.exp(-(t - 0.5) * 2 + y))).astype(float)  # t -> b <- y
    test = MixedLRT(np.column_stack([z, t, y, b]), ["continuous", "binary", "continuous", "binary"])
    assert test(0, 1) < 1e-6 and test(1, 2) < 1e-6 and test(1, 2, [0]) > 0.01
    assert test(1, 2, [0, 3]) < 1e-3  # given their common child they are dependent
    gappy = np.column_stack([z, t, y, b])
    gappy[rng.random(gappy.shape) < 0.2] = np.nan  # test-wise deletion: each test on its own complete rows
    assert MixedLRT(gappy, ["continuous", "binary", "continuous", "binary"])(1, 2, [0]) > 0.01


def test_binary_colliders_of_measurements_are_found_with_the_mixed_score():
    """A binary treatment and a binary outcome, each caused by three continuous confounders, the treatment
    causing the outcome (the kind of the binary-binary-ate case, simulated): the rules choose the mixed BIC,
    and every confounder is found as a cause of both."""
    frame, truth = sim(8700, 3000, 5, 0.0, "logistic")
    found = find_structure(Dataset(frame=frame, path="<sim>", sha256="3" * 64, format="csv"), RulesPlanner(),
                           Request(bootstrap=0), seed=0)
    assert found.plan.algorithm == "exact_search" and found.plan.params["score_func"] == "local_score_mixed_BIC"
    links = {frozenset((e.source, e.target)) for e in found.graph.edges}
    assert links == {frozenset((e.source, e.target)) for e in truth.edges}
    binary = set(truth.nodes[-2:])
    # no confounder is made a child of the treatment or the outcome
    assert not [e for e in found.graph.edges if e.type == "directed" and e.source in binary and e.target not in binary]
