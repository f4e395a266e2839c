"""`watchhouse build --vars`: the project's dbt vars a user may override, checked before dbt runs.

dbt pastes var values into the SQL it compiles, so a value is accepted only when it has the kind
of the var's default in dbt_project.yml: a number for a number, true/false for a flag, a list of
as many numbers for a band, a JSON object of names to numbers for weights, a YYYY-MM-DD date for a
date. Anything else - an unknown name, a string where a number goes, a quote - is refused with
what was wrong and what would be right, before any Spark or dbt starts.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path

import yaml

from watchhouse.errors import UserError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def project_vars(project: Path) -> dict:
    """The `vars:` of dbt_project.yml with their defaults."""
    return yaml.safe_load((project / "dbt_project.yml").read_text()).get("vars", {})


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _refuse(var: str, value: object, want: str, default: object) -> None:
    raise UserError(f"--vars {var}={value!r}: {want} (the default is {default!r}, dbt_project.yml vars)")


def check_value(var: str, value: object, default: object) -> None:
    """Refuse `value` for `var` unless it has the kind of `default`."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            _refuse(var, value, "give true or false (JSON, unquoted)", default)
    elif _number(default):
        if not _number(value):
            _refuse(var, value, "give a finite number (JSON, unquoted)", default)
        if isinstance(default, int) and not isinstance(value, int):
            _refuse(var, value, "give a whole number", default)
        if value < 0:
            _refuse(var, value, "give a number >= 0", default)
    elif isinstance(default, list):
        if not (isinstance(value, list) and len(value) == len(default) and all(_number(v) for v in value)):
            _refuse(var, value, f"give a list of {len(default)} numbers", default)
        if len(value) == 2 and value[0] > value[1]:
            _refuse(var, value, "give a band [low, high] with low <= high", default)
    elif isinstance(default, dict):
        if not (isinstance(value, dict) and all(_NAME.match(str(k)) and _number(v) for k, v in value.items())):
            _refuse(var, value, "give a JSON object of names (letters, digits, _) to numbers", default)
    elif isinstance(default, str) and _DATE.match(default):
        if not (isinstance(value, str) and _DATE.match(value)):
            _refuse(var, value, "give a date YYYY-MM-DD", default)
    else:
        raise UserError(f"--vars {var}: this var is set by watchhouse itself, not on the command line")


def refuse_batch_vars(given: dict, batch_vars: dict) -> None:
    """The batch vars (as_of, the landing's dates) come from the landing data: --vars may not set them."""
    forbidden = set(given) & set(batch_vars)
    if forbidden:
        raise UserError(f"--vars may not set {', '.join(sorted(forbidden))}: the batch comes from the landing data")


def check_build_vars(extra: dict | None, project: Path, batch_vars: dict) -> dict:
    """`extra` checked against the project's vars; returns a copy. The batch vars come from the
    landing data and may not be set."""
    extra = dict(extra or {})
    refuse_batch_vars(extra, batch_vars)
    known = project_vars(project)
    for var, value in extra.items():
        if var not in known:
            close = difflib.get_close_matches(str(var), list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(f"--vars {var!r} is not a var of this project (dbt_project.yml vars lists them){hint}")
        check_value(var, value, known[var])
    return extra
