"""Held-out check: pooled domains whose means alone shift, scored pooled or summed over domains.

The Causal-Copilot simulator pools domains by shifting the means of the three least-connected
variables, every mechanism otherwise the same (``evals.generators.mean_shift_domains``); its
heterogeneous scenario instead rescales every coefficient and noise scale per domain (``copilot_sem``
with ``domains=3``). For each data set the rules planner's plan is run as planned (with
``score_by='domain_means'`` where the profile finds equal covariances within domains, Box's M) and
without that setting (the BIC summed over separate fits per domain). The rule was chosen on seeds
40000-40019; this script judges it on seeds 41000+ by default. Run from the repository root:
``python -m evals.heldout.domain_means 30 [base_seed]``."""
import sys

import numpy as np

from causalpilot.agent.loop import discovery_input
from causalpilot.agent.planners.base import Request
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.evals.generators import copilot_sem, mean_shift_domains
from causalpilot.evals.heldout.compare import print_with_and_without, with_and_without
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare

FAMILIES = {
    "means shift, K = 3": lambda s: mean_shift_domains(seed=s),
    "means shift, K = 5, n = 2000": lambda s: mean_shift_domains(seed=s, n=2000, n_domains=5),
    "mechanisms change, K = 3": lambda s: copilot_sem(seed=s, domains=3),
}

if __name__ == "__main__":
    N = int(sys.argv[1])
    base = int(sys.argv[2]) if len(sys.argv) > 2 else 41000
    for name, make in FAMILIES.items():
        rows, pooled = [], 0
        for k in range(N):
            syn = make(base + k)
            prep = profile_and_prepare(Dataset(frame=syn.data, path="<s>", sha256=str(k), format="synthetic"), seed=1)
            plan = RulesPlanner().plan_discovery(prep.profile, Request())
            di = discovery_input(prep, 2, None)
            pooled += plan.params.get("score_by") == "domain_means"
            rows.append(with_and_without(plan, di, syn.truth, "score_by"))
        R = np.array(rows)
        print(f"{name}: {N} data sets (seeds {base}+), pooled intercept model chosen on {pooled}")
        print_with_and_without(R)
