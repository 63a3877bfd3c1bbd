"""Typed results of the effect step: what :func:`causalpilot.tools.inference.effects.infer` returns.

``effects.json`` is the contract, so each class's :meth:`to_dict` writes exactly the entry the file has
always held: the same keys, in the same order, with the same keys left out. The order is declared
once per class in ``_KEYS``; a name ending in ``?`` is left out while its value is None (or False for
a flag), every other name is always written, null or not. Nested results are written by their own
``to_dict``; anything else (numbers, strings, lists of names, the dicts of the CATE and what-if
queries) is written as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Written:
    """Writes the fields named in ``_KEYS`` (see the module docstring) in that order."""

    _KEYS: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``effects.json`` form: the ``_KEYS`` in order, optional ones left out when unset."""
        out: dict[str, Any] = {}
        for key in self._KEYS:
            name, optional = key.rstrip("?"), key.endswith("?")
            value = getattr(self, name)
            if optional and (value is None or value is False):
                continue
            out[name] = _plain(value)
        return out


@dataclass(kw_only=True)
class Refutation(_Written):
    """One refuter's verdict on an estimate (see :mod:`causalpilot.tools.inference.refute`).

    ``new_effect``: the effect after the alteration (mean over simulations; for the sensitivity
    analysis, the effect left after the benchmark confounder), in the outcome's units per unit of the
    treatment. ``p_value``: DoWhy's significance test of the discrepancy, None for the sensitivity
    analysis. ``passed``: p >= 0.05, or for the sensitivity analysis the benchmark's verdict; None when
    not judged.
    """

    name: str
    new_effect: float | None
    p_value: float | None
    passed: bool | None
    num_simulations: int | None = None
    robustness_value: float | None = None
    reading: str | None = None
    benchmark: str | None = None
    benchmark_r2_treatment: float | None = None
    benchmark_r2_outcome: float | None = None

    _KEYS = ("name", "new_effect", "p_value", "passed", "num_simulations?", "robustness_value?", "reading?",
             "benchmark?", "benchmark_r2_treatment?", "benchmark_r2_outcome?")


@dataclass(kw_only=True)
class SetEstimate(_Written):
    """The effect under one adjustment set (one of the parent sets IDA allows, or the only one)."""

    adjustment_set: list[str]
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    refutations: list[Refutation] = field(default_factory=list)
    structural_zero: bool = False  # in this orientation the outcome causes the treatment: the effect is 0
    reading: str | None = None
    poor_overlap: float | None = None  # share of rows with a propensity outside estimators.OVERLAP_BAND
    # so many rows outside the band (effects.NO_SUPPORT_SHARE) that the arms share no comparable rows: the
    # estimate is the outcome model's extrapolation, not supported by the data
    no_support: bool = False

    _KEYS = ("adjustment_set", "estimate", "ci_low", "ci_high", "refutations", "structural_zero?", "reading?",
             "poor_overlap?", "no_support?")


@dataclass(kw_only=True)
class LevelContrast(_Written):
    """One level of an unordered categorical treatment against the reference level, on those rows."""

    level: str
    reference: str
    rows: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    adjustment_set: list[str] | None
    identified: bool
    estimate_range: list[float] | None = None
    structural_zero: bool = False

    _KEYS = ("level", "reference", "rows", "estimate", "ci_low", "ci_high", "estimate_range?", "adjustment_set",
             "identified", "structural_zero?")


@dataclass(kw_only=True)
class LagFit(_Written):
    """One least-squares fit of Y at t on X at t-k under one adjustment set (lagged names, e.g. ``x(t-2)``)."""

    estimate: float
    ci_low: float
    ci_high: float
    adjustment_set: list[str]
    rows: int | None = None  # rows left after shifting; None for a structural zero
    structural_zero: bool = False

    _KEYS = ("estimate", "ci_low", "ci_high", "adjustment_set", "rows?", "structural_zero?")


@dataclass(kw_only=True)
class LagEstimate(_Written):
    """The effect of a one-off unit rise of X at t-k on Y at t. With one adjustment set its fit's values
    are given directly; with several (open contemporaneous edges at X) ``estimate`` and
    ``adjustment_set`` are None, ``estimate_range`` and the interval span the fits, and each fit is in
    ``estimates``."""

    lag: int
    estimate: float | None
    ci_low: float
    ci_high: float
    adjustment_set: list[str] | None
    rows: int | None = None
    structural_zero: bool = False
    estimate_range: list[float] | None = None
    estimates: list[LagFit] | None = None

    _KEYS = ("lag", "estimate", "estimate_range?", "ci_low", "ci_high", "adjustment_set", "rows?", "structural_zero?",
             "estimates?")

    @classmethod
    def from_fits(cls, lag: int, fits: list[LagFit]) -> "LagEstimate":
        """One fit: its values; several: their range and the widest interval."""
        if len(fits) == 1:
            f = fits[0]
            return cls(lag=lag, estimate=f.estimate, ci_low=f.ci_low, ci_high=f.ci_high,
                       adjustment_set=f.adjustment_set, rows=f.rows, structural_zero=f.structural_zero)
        vals = [f.estimate for f in fits]
        return cls(lag=lag, estimate=None, estimate_range=[min(vals), max(vals)], ci_low=min(f.ci_low for f in fits),
                   ci_high=max(f.ci_high for f in fits), adjustment_set=None, estimates=fits)


_TAIL = ("cate?", "treatment_change?", "outcome_scale?", "what_if?")


@dataclass(kw_only=True)
class Effect(_Written):
    """One ``effects.json`` entry: the effect of ``treatment`` on ``outcome``.

    Units: ``estimate`` and its 95% interval (``ci_low``, ``ci_high``) are in the outcome's units per
    unit of the treatment (for a binary treatment, switching it on; for a binary outcome, its
    probability). ``estimate`` is None when the effect is not identified or only a range is known.
    ``adjustment_set`` is None when several sets are tried (``estimates`` of a back-door effect).
    The subclasses add what their kind of effect has; this class is a structural zero, a front-door
    or instrumental-variable estimate, or an effect that could not be identified.
    """

    treatment: str
    outcome: str
    estimand: str
    method: str
    adjustment_set: list[str] | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    identified: bool
    refutations: list[Refutation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    structural_zero: bool = False
    # the data's own answer where the graph says zero (effects.zero_check): the weakest adjustment set,
    # its estimate and interval, the p-value of the dependence and whether it contradicts the zero
    zero_check: dict[str, Any] | None = None
    cate: list[dict[str, Any]] | None = None  # rows of cate.cate_by_groups
    treatment_change: str | None = None  # how the report says "one unit more" of a binary treatment
    outcome_scale: str | None = None  # how the report names the scale of a binary outcome
    what_if: dict[str, Any] | None = None  # gcm_queries.what_if_query's answer

    _KEYS = ("treatment", "outcome", "estimand", "adjustment_set", "method", "estimate", "ci_low", "ci_high",
             "refutations", "identified", "structural_zero?", "zero_check?", "notes", *_TAIL)


@dataclass(kw_only=True)
class BackdoorEffect(Effect):
    """A back-door effect: one adjustment set, or several (IDA) with one :class:`SetEstimate` each."""

    naive_estimate: float | None = None  # slope of the outcome on the treatment alone
    estimate_range: list[float] | None = None
    estimates: list[SetEstimate] | None = None
    poor_overlap: float | None = None
    no_support: bool = False  # the one adjustment set's estimate has no common support (SetEstimate.no_support)

    _KEYS = ("treatment", "outcome", "estimand", "method", "identified", "naive_estimate", "adjustment_set", "estimate",
             "estimate_range?", "ci_low", "ci_high", "estimates?", "refutations", "structural_zero?", "zero_check?",
             "poor_overlap?", "no_support?", "notes", *_TAIL)


@dataclass(kw_only=True)
class LevelEffect(Effect):
    """An unordered categorical treatment: one :class:`LevelContrast` per level against ``reference_level``."""

    reference_level: str | None = None
    contrasts: list[LevelContrast] = field(default_factory=list)

    _KEYS = ("treatment", "outcome", "estimand", "method", "identified", "adjustment_set", "estimate", "ci_low",
             "ci_high", "reference_level", "contrasts", "refutations", "notes", *_TAIL)


@dataclass(kw_only=True)
class LaggedEffect(Effect):
    """A time-series effect: one :class:`LagEstimate` per lag with a causal path (none: a structural zero)."""

    lags: list[LagEstimate] | None = None

    _KEYS = ("treatment", "outcome", "adjustment_set", "refutations", "estimate", "ci_low", "ci_high", "estimand",
             "method", "identified", "structural_zero?", "zero_check?", "lags?", "notes", *_TAIL)
