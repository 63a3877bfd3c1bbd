"""Numbers as people write them, for every estimate, interval, count and p-value shown to a user.

One rule for the report, the console and the chat: thousands separators ("1,794", not "1.79e+03"),
a fixed number of significant digits that never drops a digit of the integer part, trailing zeros
dropped ("0.5", not "0.500"), and scientific notation only far from everyday magnitudes (|x| below
1e-4 or from 1e9 up).
"""

from __future__ import annotations

import math
from typing import Any

PLAIN_FROM, PLAIN_BELOW = 1e-4, 1e9  # |x| in [PLAIN_FROM, PLAIN_BELOW) is written without an exponent
MISSING = "—"


def number(x: Any, digits: int = 3, sign: bool = False) -> str:
    """``x`` written for a reader.

    Args:
        x: an int, a float, or None (shown as an em dash); NaN is "n/a", infinities "inf"/"-inf".
        digits: significant digits of a float, never fewer than its integer part has
            (1794.2 -> "1,794" with 3 digits; 0.73494 -> "0.735").
        sign: write "+" before a positive number (for changes and contrasts).

    Returns the text; ints keep every digit ("12,000"). Raises TypeError for anything that is not a
    number or None (bool included: a flag is not a quantity).
    """
    if x is None:
        return MISSING
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"number() takes an int, a float or None, not {type(x).__name__}")
    plus = "+" if sign and x > 0 else ""
    if isinstance(x, int):
        return f"{plus}{x:,d}"
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return plus + ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    if not PLAIN_FROM <= abs(x) < PLAIN_BELOW:
        return plus + f"{x:.{digits}g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "0"):
        return "0"
    return plus + text


def interval(low: Any, high: Any, digits: int = 3) -> str:
    """A 95% interval as "low to high" (em dashes for a missing end)."""
    return f"{number(low, digits)} to {number(high, digits)}"


def duration(seconds: float) -> str:
    """Seconds as a person says them: "0.4 s", "12 s", "2 min 5 s", "1 h 3 min"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def p_text(p: float) -> str:
    """A p-value as a reader takes it in: "p < 0.001" below that, else two significant digits."""
    return "p < 0.001" if p < 0.001 else f"p = {number(p, 2)}"


def share(x: float) -> str:
    """A share of variance as a percentage: "48%", and "less than 1%" below 0.5% (never "0%", which
    would read as none at all)."""
    return "less than 1%" if x < 0.005 else f"{x:.0%}"
