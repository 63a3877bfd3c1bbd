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


def test_numbers_are_written_as_people_write_them():
    from causalpilot.reports.numbers import number

    assert number(1794.2) == "1,794" and number(1794) == "1,794" and number(12_000) == "12,000"
    assert number(0.73494) == "0.735" and number(0.73494, 4) == "0.7349" and number(-0.005291) == "-0.00529"
    assert number(0.5) == "0.5" and number(1.0) == "1" and number(-0.0) == "0" and number(0.99996) == "1"
    assert number(123456789.4) == "123,456,789" and number(0.0001) == "0.0001"  # the plain range's ends
    assert number(2e9) == "2e+09" and number(1.5e-5) == "1.5e-05"  # far outside it, an exponent
    assert number(0.2, sign=True) == "+0.2" and number(None) == "—" and number(float("nan")) == "n/a"


def _income_data(n=800, seed=5):
    """age -> smoking -> income, age -> income: a total effect of smoking on income of 1,000 per unit."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    age = rng.normal(50, 10, size=n)
    smoking = 0.5 * age + rng.normal(size=n) * 5
    income = 1000 * smoking + 800 * age + rng.normal(size=n) * 3000
    return pd.DataFrame({"age": age, "smoking": smoking, "income": income})


def test_report_md_writes_numbers_plainly_says_the_summary_once_and_reads_the_sensitivity(tmp_path):
    import re

    import causalpilot
    from causalpilot.reports.interpret import graph_summary
    from causalpilot.reports.numbers import number

    r = causalpilot.analyse(_income_data(), treatment="smoking", outcome="income", bootstrap=0, memory=False,
                            background={"tiers": [["age"], ["smoking"], ["income"]]}, out=tmp_path / "o")
    md = (tmp_path / "o" / "report.md").read_text()
    eff = r.effects.iloc[0]
    assert 960 < eff["estimate"] < 1060 and eff["adjustment_set"] == ["age"]  # the known effect, identified
    assert not re.search(r"\d[eE][+-]\d", md)  # no 1.01e+03 anywhere
    assert f"changes income by {number(eff['estimate'])} on average" in md and re.search(r"\| 1,0\d\d \| \[9", md)
    # the summary is said once: the graph's reading and the effect's each appear one time
    assert md.count(graph_summary(r.graph)) == 1 and md.count("changes income by") == 1
    # how strong a hidden confounder would have to be, in words, in the summary and beside the check
    sens = md.split("| unobserved_common_cause (partial R2) |")[1].splitlines()[0]
    # age explains over half of smoking's variance: no confounder as strong can exist beside it (Cinelli &
    # Hazlett's bound has no verdict then), and the reading says so instead of a benchmark effect
    assert "would have to explain" in sens and "no confounder as strong as age can exist" in sens
    assert re.search(r"A hidden confounder would have to explain \d+% of the remaining variation of both smoking "
                     r"and income to make the interval include zero; no confounder as strong as age", md)


def test_the_sensitivity_is_read_for_every_orientation_of_an_unidentified_effect():
    from causalpilot.reports.interpret import effect_sentence

    def sens(rv, **kw):
        return [{"name": "unobserved_common_cause (partial R2)", "robustness_value": rv, **kw}]

    eff = {"treatment": "t", "outcome": "y", "estimate": None, "estimate_range": [0.735, 0.952], "ci_low": 0.69,
           "ci_high": 1.0, "estimates": [
               {"adjustment_set": [], "estimate": 0.952, "ci_low": 0.9, "ci_high": 1.0, "refutations": sens(0.56)},
               {"adjustment_set": ["age"], "estimate": 0.735, "ci_low": 0.69, "ci_high": 0.78, "refutations": sens(
                   0.47, benchmark="age", new_effect=0.5172, passed=True, benchmark_r2_treatment=0.39,
                   benchmark_r2_outcome=1.0)}]}
    text = effect_sentence(eff)
    assert "Adjusting for nothing (estimate 0.952): a hidden confounder would have to explain 56%" in text
    assert "Adjusting for age (estimate 0.735): a hidden confounder would have to explain 47%" in text
    assert "would leave an effect of 0.517, so the conclusion holds" in text
    # the bounds belong to the hypothetical confounder, not to age, and 100% is said to be the cap
    assert ("a hidden confounder as strong as the measured age (by Cinelli & Hazlett's bounds such a confounder "
            "could explain up to 39% of t's and up to 100% of y's remaining variation, the most any confounder "
            "can)") in text and "which explains" not in text


def test_a_zero_is_credited_only_to_the_prohibitions_that_could_have_carried_the_effect():
    from causalpilot.reports.interpret import effect_sentence, forbidden_behind

    g = CausalGraph(nodes=["age", "smoking", "cancer", "income"], graph_type="CPDAG", algorithm="pc", edges=[
        Edge("age", "smoking", "directed"), Edge("age", "cancer", "directed"), Edge("cancer", "smoking", "directed")])
    forbidden = [("smoking", "cancer"), ("age", "income"), ("cancer", "age")]
    zero = {"treatment": "smoking", "outcome": "cancer", "estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0,
            "structural_zero": True, "notes": []}
    because = forbidden_behind(zero, g, forbidden)
    assert because == ["smoking -> cancer"]  # neither other prohibition lies between smoking and cancer
    assert effect_sentence(zero, because).startswith("The effect of smoking on cancer is 0 because you forbade "
                                                     "smoking -> cancer")
    assert effect_sentence(zero, []).startswith("According to the graph, smoking does not cause cancer")
    assert forbidden_behind({**zero, "structural_zero": False, "estimate": 0.4}, g, forbidden) == []
