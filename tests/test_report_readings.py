"""What the report says about edges and effects: no reading that misleads a domain expert."""

from __future__ import annotations

from causalpilot.tools.graph import CausalGraph, Edge, Orientation


def test_report_warns_that_a_nonlinear_effect_can_average_to_zero():
    """A U-shaped dose-response has an average per-unit effect near zero; the report must not let that
    read as 'no effect' without a warning, and must credit directions to the additive-noise test."""
    from causalpilot.reports.interpret import caveats, edge_sentence

    anm = Orientation("additive_noise", "the residual of response is independent of dose, p = 0.6; the reverse "
                                        "fit's is not, p < 1e-15")
    g = CausalGraph(nodes=["dose", "response"],
                    edges=[Edge("dose", "response", "directed", confidence=0.9, orientation=anm)],
                    graph_type="CPDAG", algorithm="pc",
                    parameters={"additive_noise": {"alpha": 0.05, "rows": 500, "oriented": ["dose -> response"],
                                                   "tests": {"dose - response": {"p_forward": 0.6,
                                                                                 "p_backward": 0.0}}}})
    profile = {"findings": {"linearity": {"value": "nonlinear"}}, "n_rows": 1000, "variables": ["dose", "response"]}
    effect = [{"treatment": "dose", "outcome": "response", "estimate": 0.001, "ci_low": -0.02, "ci_high": 0.02}]
    text = " ".join(caveats("pc", profile, g, [], effects=effect))
    assert "U-shaped" in text and "--what-if" in text and "additive-noise" in text
    assert "U-shaped" not in " ".join(caveats("pc", profile, g, []))  # no effect estimated, no warning
    reading = edge_sentence(g.edges[0])
    assert "additive-noise model" in reading and "p = 0.6" in reading and "p < 1e-15" in reading
    assert "additive-noise" not in " ".join(caveats("pc", profile, CausalGraph(g.nodes, [Edge("dose", "response",
                                                                                                "directed")]), []))


def test_an_interval_that_already_includes_zero_gets_no_robustness_sentence():
    from causalpilot.reports.interpret import effect_sentence

    sens = {"name": "unobserved_common_cause (partial R2)", "robustness_value": 0.0, "new_effect": 0.001}
    null = {"treatment": "dose", "outcome": "response", "estimate": 0.001, "ci_low": -0.02, "ci_high": 0.02,
            "refutations": [sens]}
    assert "hidden confounder" not in effect_sentence(null)
    real = {**null, "estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6, "refutations": [{**sens, "robustness_value": 0.3}]}
    assert "would have to explain 30%" in effect_sentence(real)
