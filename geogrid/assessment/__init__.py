"""Assessment (考核): rule sets as data, scoring shapes, built-in presets, scoring a period.

DOMAIN.md §7 and §7b. A rule set is a YAML (or TOML) file (:func:`load_rule_set`; presets:
:func:`preset_names`); :func:`score` scores plain values, :func:`assess_month` resolves them
from the database first. Every point lost comes with a Chinese sentence saying why.
"""

from __future__ import annotations

from geogrid.assessment.engine import annual_totals, assess_month, assess_period, score
from geogrid.assessment.figures import Rounding
from geogrid.assessment.inputs import INDICATORS, UnitInputs, resolve_inputs
from geogrid.assessment.manual import manual_fields, read_manual
from geogrid.assessment.result import AssessmentResult, ItemResult, UnitResult
from geogrid.assessment.rules import RuleSet, load_rule_set, parse_rule_set, preset_names

__all__ = [
    "INDICATORS",
    "AssessmentResult",
    "ItemResult",
    "Rounding",
    "RuleSet",
    "UnitInputs",
    "UnitResult",
    "annual_totals",
    "assess_month",
    "assess_period",
    "load_rule_set",
    "manual_fields",
    "parse_rule_set",
    "preset_names",
    "read_manual",
    "resolve_inputs",
    "score",
]
