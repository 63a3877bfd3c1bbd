"""The domain index: found by its name or from the data, never from an ordinary discrete cause."""

import numpy as np
import pandas as pd
import pytest

from causalpilot.agent.planners.base import Request
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.evals.generators import copilot_sem, mean_shift_domains
from causalpilot.tools.errors import InputError
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare


def _profile(frame, **kw):
    ds = Dataset(frame=frame, path="<test>", sha256="t", format="synthetic")
    return profile_and_prepare(ds, seed=1, **kw).profile


def _treated(seed, n=1000):
    """A binary treatment caused by age, with two effects: the treatment shifts y's and z's means."""
    rng = np.random.default_rng(seed)
    age = rng.normal(size=n)
    treated = (rng.random(n) < 1 / (1 + np.exp(-age))).astype(int)
    y = 1.0 * treated + 0.5 * age + rng.normal(size=n)
    z = 0.8 * y + rng.normal(size=n)
    return pd.DataFrame({"age": age, "treated": treated, "y": y, "z": z})


def test_the_peer_generators_domain_index_column_is_recognised_with_its_mean_shifts():
    """Causal-Copilot's simulator names the column domain_index (values 1..K) and shifts the means of the
    three least-connected variables; the name alone makes it the domain index, and the finding names
    the shifted variables and finds the covariance within domains the same in each (means shift only)."""
    syn = mean_shift_domains(seed=3, n_domains=4)
    prof = _profile(syn.data)
    het = prof.findings["heterogeneity"]
    assert prof.domain_index == "domain_index" and "domain_index" not in prof.variables
    assert het.value is True and het.evidence["found_by"] == "name" and het.evidence["n_domains"] == 4
    assert set(syn.meta["shifted"]) <= set(het.evidence["mean_shift"])
    assert het.evidence["box_m_p"] > 0.05 and not het.evidence["scale_shift"]


@pytest.mark.parametrize("name", ["domain_index", "Domain_ID", "site_id", "batch_no", "env", "regime"])
def test_domain_names_with_an_index_suffix_are_recognised(name):
    syn = mean_shift_domains(seed=1, p=5)
    assert _profile(syn.data.rename(columns={"domain_index": name})).domain_index == name


def test_an_unnamed_column_in_blocks_that_shifts_several_variables_is_used_as_the_domain_index():
    """The same data with the index named 'g': three levels, each one block of rows (probability about
    10^-473 under a random row order), shifting several variables and no common effect of any pair."""
    syn = mean_shift_domains(seed=5)
    prof = _profile(syn.data.rename(columns={"domain_index": "g"}))
    assert prof.domain_index == "g" and prof.findings["heterogeneity"].evidence["found_by"] == "data"
    repair = next(r for r in prof.repairs if r["repair"] == "domain_index")
    assert "contiguous blocks" in repair["reason"] and "--no-domain" in repair["reason"]


def test_shuffled_rows_hide_an_unnamed_domain_index():
    syn = mean_shift_domains(seed=5)
    frame = syn.data.rename(columns={"domain_index": "g"}).sample(frac=1, random_state=0).reset_index(drop=True)
    prof = _profile(frame)
    assert prof.domain_index is None and "g" in prof.variables


def test_an_ordinary_binary_cause_is_not_proposed_as_a_domain():
    """A treatment that shifts the means of its two effects, rows in random order: its values do not
    form blocks (probability of one block per level about 10^-299 at n = 1000), so it is neither used
    nor proposed, in any of five seeds."""
    for seed in range(5):
        prof = _profile(_treated(seed))
        het = prof.findings["heterogeneity"]
        assert prof.domain_index is None and "treated" in prof.variables
        assert "proposed" not in het.evidence and het.evidence["columns_with_blocks"] == []


def test_a_table_sorted_by_a_binary_cause_is_proposed_but_not_used():
    """Sorted by the treatment, its two levels form two blocks and it shifts three variables, as a
    two-domain index would: the report proposes it, and it stays a variable (two levels never suffice)."""
    frame = _treated(0).sort_values("treated", kind="stable").reset_index(drop=True)
    prof = _profile(frame)
    het = prof.findings["heterogeneity"]
    assert prof.domain_index is None and "treated" in prof.variables
    assert het.evidence["proposed"] == "treated" and "--domain-index treated" in het.summary


def test_a_common_effect_in_blocks_is_not_proposed():
    """A three-level grade caused by two independent scores, rows sorted by grade: blocks and shifts,
    but the scores are independent without the grade and dependent given it, so it is not exogenous."""
    rng = np.random.default_rng(0)
    n = 1500
    a, b = rng.normal(size=n), rng.normal(size=n)
    grade = np.digitize(a + b + 0.5 * rng.normal(size=n), [-1.0, 1.0])
    frame = pd.DataFrame({"a": a, "b": b, "grade": grade, "c": a + rng.normal(size=n)})
    frame = frame.sort_values("grade", kind="stable").reset_index(drop=True)
    prof = _profile(frame)
    het = prof.findings["heterogeneity"]
    assert prof.domain_index is None and "grade" in prof.variables
    ev = next(e for e in het.evidence["columns_with_blocks"] if e["column"] == "grade")
    assert ev["blocks"] and sorted(ev["collider"]) == ["a", "b"] and not ev["proposed"]


def test_no_domain_keeps_a_domain_named_column_a_variable_and_contradicts_a_named_index():
    syn = mean_shift_domains(seed=2, p=5)
    frame = syn.data.rename(columns={"domain_index": "site"})
    prof = _profile(frame, no_domain=True)
    assert prof.domain_index is None and "site" in prof.variables
    assert prof.findings["heterogeneity"].summary == "no domain index (--no-domain)"
    with pytest.raises(InputError, match="--no-domain"):
        _profile(frame, domain_index="site", no_domain=True)


def test_pooled_means_only_are_scored_as_one_model_and_changed_mechanisms_per_domain():
    shifted = _profile(mean_shift_domains(seed=4).data)
    plan = RulesPlanner().plan_discovery(shifted, Request())
    assert plan.algorithm == "exact_search" and plan.params["score_by"] == "domain_means"
    assert any(d.step == "discovery.score_by" for d in plan.decisions)
    changed = _profile(copilot_sem(seed=4, domains=3).data)
    assert changed.findings["heterogeneity"].evidence["box_m_p"] < 0.05
    assert "score_by" not in RulesPlanner().plan_discovery(changed, Request()).params


def test_the_cli_refuses_a_domain_index_with_no_domain(tmp_path, capsys):
    from tests.helpers import run_cli

    path = tmp_path / "pooled.csv"
    mean_shift_domains(seed=2, p=4, n=200).data.rename(columns={"domain_index": "site"}).to_csv(path, index=False)
    code, _, err = run_cli(["analyse", path, "--domain-index", "site", "--no-domain", "--out", tmp_path / "o", "-q"],
                           capsys)
    assert code == 2 and "contradict" in err
