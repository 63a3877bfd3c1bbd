"""Profiling: read a table the way an expert would before choosing a method, and prepare it for analysis.

One concept per module: :mod:`.model` (Profile, Finding, ColumnProfile, PreparedData), :mod:`.columns`
(column kinds, which columns are variables), :mod:`.parsing` (numbers with units, ordered scales,
categories as codes), :mod:`.dates` (reading dates), :mod:`.time_series` (time index and the
time-series finding), :mod:`.domains` (domain index), :mod:`.missing` (missing values),
:mod:`.collinearity`, :mod:`.checks` (linearity, Gaussianity) and :mod:`.prepare`
(:func:`profile_and_prepare`, which runs them in order).
"""

from causalpilot.tools.profile.checks import fdr_rejections, gaussianity_check, indicator_columns, linearity_check
from causalpilot.tools.profile.collinearity import collinearity
from causalpilot.tools.profile.columns import COLUMN_KINDS, MAX_CATEGORIES, MAX_INTEGER_LEVELS, classify_column
from causalpilot.tools.profile.dates import parse_times
from causalpilot.tools.profile.domains import DOMAIN_NAME, domain_codes
from causalpilot.tools.profile.missing import handle_missing
from causalpilot.tools.profile.model import ColumnProfile, Finding, PreparedData, Profile
from causalpilot.tools.profile.parsing import ORDINAL_SCALES, numbers_with_units, ordinal_order
from causalpilot.tools.profile.prepare import profile_and_prepare
from causalpilot.tools.profile.time_series import time_series_check

__all__ = [
    "COLUMN_KINDS", "DOMAIN_NAME", "MAX_CATEGORIES", "MAX_INTEGER_LEVELS", "ORDINAL_SCALES",
    "ColumnProfile", "Finding", "PreparedData", "Profile",
    "classify_column", "collinearity", "domain_codes", "fdr_rejections", "gaussianity_check", "handle_missing",
    "indicator_columns", "linearity_check", "numbers_with_units", "ordinal_order", "parse_times",
    "profile_and_prepare", "time_series_check",
]
