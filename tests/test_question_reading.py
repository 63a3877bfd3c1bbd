"""Reading a treatment and an outcome from a plain-language question (rules planner, no LLM)."""


import numpy as np
import pandas as pd

from causalpilot.tools.inference.question import read_question

HOSPITAL = ["age", "severity", "comorbidities", "region", "new_drug", "length_of_stay", "readmitted"]


def test_question_forms_and_word_forms_map_to_columns():
    for q in ["Does the new drug reduce readmissions?", "Is readmission affected by the new drug?",
              "What happens to readmissions if we give the new drug?", "What is the effect of new drug on readmitted?",
              "Does the new drug have an effect on readmissions?"]:
        assert read_question(q, HOSPITAL).pairs == [("new_drug", "readmitted")], q
    assert read_question("Does smoking cause cancer?", ["smoker", "lung_cancer", "age"]).pairs == [("smoker", "lung_cancer")]
    # a column's name must match as whole words: "wage" is not "age"
    assert read_question("Does age affect wage?", ["average_wage", "age"]).pairs == [("age", "average_wage")]
    # irregular verbs share no stem with their other forms
    shop = ["income", "saw_ad", "spend", "bought_insurance", "costs"]
    assert read_question("Does seeing the ad increase spending?", shop).pairs == [("saw_ad", "spend")]
    assert read_question("Does buying insurance reduce costs?", shop).pairs == [("bought_insurance", "costs")]
    r = read_question("Does seeing the ad increase spend?", ["saw_ad", "seen_ad", "spend"])
    assert r.pairs == [] and "saw_ad" in r.explain_failure() and "seen_ad" in r.explain_failure()


def test_unmatched_or_ambiguous_phrases_are_reported_not_guessed():
    r = read_question("Do sales affect profit?", ["salary", "profit"])  # "sal" is too short a shared stem
    assert r.pairs == [] and '"sales" matches no column' in r.explain_failure()
    r = read_question("Does price affect sales?", ["unit_price", "price_index", "sales"])
    assert r.pairs == [] and "unit_price" in r.explain_failure() and "price_index" in r.explain_failure()
    r = read_question("Why do patients come back?", HOSPITAL)
    assert r.pairs == [] and not r.asked and "does X affect Y" in r.explain_failure()


def test_unread_question_is_a_decision_and_not_silence():
    from causalpilot.tools.inference.run import EffectRequest, run_inference
    from causalpilot.tools.loading import Dataset
    from causalpilot.tools.profile import profile_and_prepare
    from causalpilot.tools.graph import CausalGraph, Edge

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"dose": x, "recovery": x + rng.normal(size=300)})
    prep = profile_and_prepare(Dataset(frame=frame, path="<t>", sha256="0", format="synthetic"), seed=0)
    g = CausalGraph(["dose", "recovery"], [Edge("dose", "recovery", "directed")], "DAG", "test")
    effects, decisions = run_inference(prep, g, EffectRequest(question="Does the dose shorten stays?", seed=0))
    assert effects == [] and decisions[0].choice == [] and '"stays" matches no column' in decisions[0].reason
    effects, decisions = run_inference(prep, g, EffectRequest(question="Does the dose improve recoveries?", seed=0))
    assert [(e.treatment, e.outcome) for e in effects][:1] == [("dose", "recovery")]
    assert 0.8 < effects[0].estimate < 1.2


NHEFS_COLUMNS = ["seqn", "qsmk", "death", "yrdth", "age", "sex", "race", "education", "smokeintensity", "smokeyrs",
                 "exercise", "active", "wt71", "wt82", "wt82_71"]
THORNTON_COLUMNS = ["villnum", "got", "distvct", "tinc", "any", "age", "hiv2004"]


def test_a_column_named_in_brackets_wins_over_similar_words():
    """'quitting smoking (qsmk)' was read as smokeintensity or smokeyrs and never as qsmk."""
    r = read_question("does quitting smoking (qsmk) increase weight gain wt82_71?", NHEFS_COLUMNS)
    assert r.pairs == [("qsmk", "wt82_71")]
    assert r.matches[0].how == "named"
    r = read_question("does quitting smoking qsmk increase weight gain wt82_71?", NHEFS_COLUMNS)
    assert r.pairs == [("qsmk", "wt82_71")]


def test_short_column_names_in_brackets_are_read():
    """'the incentive (any)' matched no column: the bracket was read as part of the word."""
    r = read_question("what is the effect of the incentive (any) on learning HIV results (got)?", THORNTON_COLUMNS)
    assert r.pairs == [("any", "got")]
