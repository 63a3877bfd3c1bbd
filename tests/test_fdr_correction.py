"""The profile's multiple-testing correction: Benjamini-Yekutieli through statsmodels, on p-values
whose rejections can be worked out by hand."""

import numpy as np
from statsmodels.stats.multitest import multipletests

from causalpilot.tools.profile import fdr_rejections

# Benjamini & Hochberg's (1995) textbook list, shuffled; m = 10, so BY's constant is
# c(10) = 1 + 1/2 + ... + 1/10 = 2.929 and its k-th threshold 0.05 k / (10 c) = 0.001707 k
P = np.array([0.212, 0.001, 0.042, 0.216, 0.008, 0.06, 0.039, 0.205, 0.074, 0.041])


def test_by_rejects_what_the_hand_computation_rejects():
    # sorted: 0.001 <= 0.0017 (k=1), 0.008 > 0.0034 (k=2), and no later p-value meets its threshold
    assert fdr_rejections(P).tolist() == [p == 0.001 for p in P]
    # BH's thresholds 0.005 k are looser: 0.001 and 0.008 (<= 0.010) reject, 0.039 > 0.015 does not
    assert multipletests(P, alpha=0.05, method="fdr_bh")[0].tolist() == [p in (0.001, 0.008) for p in P]


def test_by_steps_up_from_the_largest_p_value_that_meets_its_threshold():
    # m = 2, c = 1.5: thresholds 0.0167 and 0.0333. 0.02 misses its own, but 0.03 meets the second, so
    # both reject (a test-by-test or step-down rule would keep 0.02)
    assert fdr_rejections(np.array([0.03, 0.02])).tolist() == [True, True]
    assert fdr_rejections(np.array([0.04, 0.02])).tolist() == [False, False]


def test_missing_p_values_never_reject_and_no_tests_reject_nothing():
    assert fdr_rejections(np.array([0.0001, np.nan])).tolist() == [True, False]
    assert fdr_rejections(np.array([])).tolist() == []
