"""The fixed planner behind `causalpilot discover`: the algorithm and parameters exactly as asked.

No choice is made from the data; parameters not given keep the library defaults, and that is
written down, so expert and benchmark runs are reproducible and comparable. The registry's fit check
still applies: an algorithm that cannot run on these data is refused (InputError), and each of its
assumptions that the profile contradicts is written down as a ``discovery.fit_check`` decision.
"""

from __future__ import annotations

from causalpilot.agent.planners.base import Decision, DiscoveryPlan, Request, fit_decisions
from causalpilot.tools.profile import Profile
from causalpilot.tools.registry import get_algorithm


class FixedPlanner:
    name = "fixed"

    def unused_checks(self, request: Request) -> dict[str, str]:
        """The profile's checks this planner never reads, each with the reason its finding states: the
        measurement-error check (it steers only a planner's choice, and its exact searches are the
        profile's dearest step) and the Gaussianity check unless the algorithm assumes non-Gaussian
        noise (only then does the fit check read it)."""
        skip = {"measurement_error": "only a planner that chooses the method reads it, and this run's method was "
                                     "chosen by the user"}
        if "non-gaussian" not in get_algorithm(request.algorithm).assumes:
            skip["gaussianity"] = (f"{get_algorithm(request.algorithm).name} does not rest on the noise's "
                                   "distribution, and the method was chosen by the user")
        return skip

    def plan_discovery(self, profile: Profile, request: Request) -> DiscoveryPlan:
        if not request.algorithm:
            raise ValueError("the fixed planner needs an algorithm")
        spec = get_algorithm(request.algorithm)
        params = {**spec.defaults, **{k: v for k, v in request.params.items() if v is not None}}
        decisions = [Decision("discovery.algorithm", spec.name, "chosen by the user (no planning)", {}, by="user")]
        for k, v in params.items():
            src = "set by the user" if k in request.params else "library default"
            decisions.append(Decision(f"discovery.{k}", v, src, {}, by="user" if k in request.params else "default"))
        decisions.extend(fit_decisions(spec, profile, params))
        b = request.bootstrap or 0
        decisions.append(Decision("discovery.bootstrap", b, "as requested" if b else "no bootstrap unless asked", {}))
        return DiscoveryPlan(algorithm=spec.name, params=params, bootstrap=b, decisions=decisions)
