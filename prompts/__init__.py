"""Prompt templates for the LLM planner and chat, kept as jinja2 files beside this module.

Everything that comes from the data or the user (column names, cell values, the question) enters a
prompt only through the ``data`` filter: JSON-encoded, with angle brackets escaped, inside a
``<data>`` block that the system prompt declares to be data and never instructions. So a column
named "ignore previous instructions" is shown to the model as a quoted string, nothing more.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

PROMPTS = Path(__file__).parent


def quote_data(value: Any, max_chars: int = 20_000) -> str:
    """Data as inert JSON text: no raw markup, no way to close the surrounding <data> block."""
    text = json.dumps(value, ensure_ascii=True, default=str, sort_keys=False)
    # ensure_ascii keeps control characters escaped; escaping <, > and & stops "</data>" breakouts
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if len(text) > max_chars:
        text = json.dumps(text[:max_chars] + " ...[truncated]")
    return text


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(PROMPTS), autoescape=False, undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["data"] = quote_data
    return env


def render_prompt(name: str, **context: Any) -> str:
    """Render ``prompts/<name>.j2``; data values must pass through ``| data`` in the template."""
    return _env().get_template(f"{name}.j2").render(**context)
