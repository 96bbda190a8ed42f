"""Rule sets as data (DOMAIN.md §7): the model of a rule file, and loading it with clear errors.

A rule set names the units it scores, its period, how it rounds scores and counts steps, and
its parts of items. Each item has its points, its input (an indicator of
:data:`~geogrid.assessment.inputs.INDICATORS`, ``manual``, ``item:<key>`` or ``part:<key>``)
and a scoring shape of :data:`~geogrid.assessment.registry.SHAPES` with its parameters.
Loading checks everything a scoring run would trip on later and reports all of it at once,
each problem naming the item: unknown indicator or shape, missing or unknown parameter, parts
not adding up to their points or to the total, duplicate keys, items depending on each other
in a circle.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geogrid.assessment.figures import Rounding, StepRounding, dec, fmt
from geogrid.assessment.inputs import GRID_TYPES, INDICATORS
from geogrid.assessment.registry import SHAPES, CompositeParams, Params
from geogrid.errors import NotFound, Problem, ValidationFailed

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
UnitLevel = Literal["district", "street", "community", "grid", "department"]
GridType = Literal["city", "rural", "industrial"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Model):
    """One scored item: its points, its input(s), its shape and the shape's parameters."""

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1)
    points: float = Field(ge=0)
    shape: str
    input: str | None = None
    inputs: dict[str, str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    #: An input without value: ``pending`` (no points yet), ``full`` or ``zero`` points.
    when_missing: Literal["pending", "full", "zero"] = "pending"
    #: Score each grid type with these parameter overrides and average over the grids.
    by_grid_type: dict[GridType, dict[str, Any]] | None = None
    #: The published rule the item encodes, for readers of the file.
    rule: str = ""

    @property
    def sources(self) -> dict[str, str]:
        """Role → source of the item's inputs (``value`` for the one ``input``)."""
        if self.input is not None:
            return {"value": self.input}
        return dict(self.inputs or {})

    def shape_params(self, overrides: dict[str, Any] | None = None) -> Params:
        """The parameters parsed by the shape's model (checked when the file was loaded)."""
        return SHAPES[self.shape].params.model_validate(self.params | (overrides or {}))

    def manual_key(self, role: str) -> str:
        """The key of this input in manual inputs: the item's key, or ``key.role``."""
        return self.key if role == "value" else f"{self.key}.{role}"


class Part(_Model):
    """A group of items (一级指标) with its points; a ``bonus`` part is outside the total."""

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1)
    points: float = Field(ge=0)
    bonus: bool = False
    items: list[Item] = Field(min_length=1)


class RoundingSpec(_Model):
    """How scores are rounded: ``truncate`` (published 0.99936 → 0.99) or ``half_up``."""

    mode: Literal["truncate", "half_up"]
    decimals: int = Field(2, ge=0, le=6)


class AnnualSpec(_Model):
    """How the year's score is made from the months (DOMAIN.md §7, §7b)."""

    #: ``weighted_mean``: mean of monthly totals × monthly_weight + evaluation ×
    #: evaluation_weight; ``year_end_parts``: the parts of a year-end run, except
    #: ``monthly_parts`` which are the mean of the monthly runs.
    method: Literal["weighted_mean", "year_end_parts"]
    monthly_weight: float = Field(0.9, ge=0)
    evaluation_weight: float = Field(0.1, ge=0)
    monthly_parts: list[str] = Field(default_factory=list)


class RuleSet(_Model):
    """A rule set (考核细则) as a rule file states it."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str
    title: str
    description: str = ""
    units: UnitLevel
    period: Literal["monthly", "annual"]
    total: float = Field(gt=0)
    bonus: float = Field(0.0, ge=0)
    rounding: RoundingSpec
    step_rounding: StepRounding
    annual: AnnualSpec | None = None
    parts: list[Part] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @property
    def score_rounding(self) -> Rounding:
        """The rounding of every score of the rule set."""
        return Rounding(self.rounding.mode, self.rounding.decimals)

    def items(self) -> Iterator[tuple[Part, Item]]:
        """Every item with its part, in file order."""
        for part in self.parts:
            for item in part.items:
                yield part, item

    def item(self, key: str) -> Item:
        """The item of ``key``."""
        for _, item in self.items():
            if item.key == key:
                return item
        raise KeyError(key)

    def indicators(self) -> set[str]:
        """The indicators of geogrid the items name."""
        return {s for _, i in self.items() for s in i.sources.values() if s in INDICATORS}

    def order(self) -> list[Item]:
        """Items in an order where each comes after the items and parts it reads."""
        deps = _dependencies(self)
        done: set[str] = set()
        ordered: list[Item] = []
        pending = [i for _, i in self.items()]
        while pending:
            ready = [i for i in pending if deps[i.key] <= done]
            if not ready:
                raise ValueError("items depend on each other in a circle")
            for item in ready:
                ordered.append(item)
                done.add(item.key)
            pending = [i for i in pending if i.key not in done]
        return ordered


def _dependencies(rule_set: RuleSet) -> dict[str, set[str]]:
    members = {p.key: {i.key for i in p.items} for p in rule_set.parts}
    deps: dict[str, set[str]] = {}
    for _, item in rule_set.items():
        needed: set[str] = set()
        for source in item.sources.values():
            kind, _, key = source.partition(":")
            if kind == "item":
                needed.add(key)
            elif kind == "part":
                needed |= members.get(key, set())
        deps[item.key] = needed
    return deps


def _where(item: Item | None, part: Part | None = None) -> str:
    if item is not None:
        return f"item '{item.key}'"
    return f"part '{part.key}'" if part is not None else "rule set"


def _said(item: Item) -> str:
    return f"Item '{item.key}' ({item.name})"


def _param_problems(item: Item, exc: ValidationError, extra: str = "") -> list[Problem]:
    problems = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"])
        if error["type"] == "missing":
            text = f"missing parameter '{name}' of shape '{item.shape}'"
            rule = "missing_parameter"
        elif error["type"] == "extra_forbidden":
            text = f"unknown parameter '{name}' of shape '{item.shape}'"
            rule = "unknown_parameter"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            text = f"parameter '{name}': {message}" if name else message
            rule = "invalid_parameter"
        problems.append(Problem(_where(item), rule, f"{_said(item)}{extra}: {text}."))
    return problems


def _check_sources(rule_set: RuleSet, item: Item, parts: set[str]) -> list[Problem]:
    problems = []
    items = {i.key for _, i in rule_set.items()}
    for role, source in item.sources.items():
        kind, _, key = source.partition(":")
        if source == "manual" or (kind == "item" and key in items - {item.key}):
            continue
        if kind == "part" and key in parts:
            continue
        if kind in ("item", "part"):
            message = f"input '{source}' names no other {kind} of the rule set"
        elif source in INDICATORS:
            indicator = INDICATORS[source]
            if rule_set.units in indicator.levels:
                continue
            message = (
                f"indicator '{source}' ({indicator.label}) cannot be computed per {rule_set.units}"
            )
        else:
            message = (
                f"input '{source}' is not an indicator geogrid computes, 'manual', "
                "'item:<key>' or 'part:<key>'"
            )
        problems.append(
            Problem(_where(item), "unknown_input", f"{_said(item)}, input '{role}': {message}.")
        )
    return problems


def _check_item(rule_set: RuleSet, item: Item, parts: set[str]) -> list[Problem]:
    shape = SHAPES.get(item.shape)
    if shape is None:
        return [
            Problem(
                _where(item),
                "unknown_shape",
                f"{_said(item)}: unknown shape '{item.shape}'; shapes: {', '.join(SHAPES)}.",
            )
        ]
    try:
        params = item.shape_params()
    except ValidationError as exc:
        return _param_problems(item, exc)
    problems = []
    if (item.input is None) == (item.inputs is None):
        problems.append(
            Problem(_where(item), "inputs", f"{_said(item)}: give either 'input' or 'inputs'.")
        )
    else:
        wanted = set(shape.roles(params))
        required = wanted - set(shape.optional_roles)
        given = set(item.sources)
        if not required <= given or not given <= wanted:
            problems.append(
                Problem(
                    _where(item),
                    "inputs",
                    f"{_said(item)}: shape '{item.shape}' takes the input(s) "
                    f"{', '.join(sorted(wanted))}"
                    + (
                        f" ({', '.join(shape.optional_roles)} optional)"
                        if shape.optional_roles
                        else ""
                    )
                    + f"; the file gives {', '.join(sorted(given)) or 'none'}.",
                )
            )
        problems += _check_sources(rule_set, item, parts)
    if isinstance(params, CompositeParams):
        full = sum(
            (dec(t.weight) * dec(t.full) / dec(t.scale) for t in params.terms.values()), Decimal(0)
        )
        if full != dec(item.points):
            problems.append(
                Problem(
                    _where(item),
                    "points_do_not_add_up",
                    f"{_said(item)}: its terms add up to {fmt(full)} points, "
                    f"not {fmt(item.points)}.",
                )
            )
    if item.by_grid_type is not None:
        problems += _check_by_grid_type(item, shape.cross_unit)
    return problems


def _check_by_grid_type(item: Item, cross_unit: bool) -> list[Problem]:
    source = item.input or ""
    indicator = INDICATORS.get(source)
    if cross_unit or indicator is None or not indicator.by_grid_type:
        per_type = [n for n, i in INDICATORS.items() if i.by_grid_type]
        return [
            Problem(
                _where(item),
                "by_grid_type",
                f"{_said(item)}: by_grid_type needs one input among {', '.join(per_type)} and a "
                "shape scoring each unit on its own.",
            )
        ]
    problems = []
    for grid_type, overrides in (item.by_grid_type or {}).items():
        try:
            item.shape_params(overrides)
        except ValidationError as exc:
            problems += _param_problems(item, exc, f", {GRID_TYPES[grid_type]}")
    return problems


def _sum(values: list[float]) -> Decimal:
    return sum((dec(v) for v in values), Decimal(0))


def check_rule_set(rule_set: RuleSet) -> list[Problem]:
    """Every problem of a structurally valid rule set (see the module's docstring)."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for part in rule_set.parts:
        if part.key in seen:
            problems.append(
                Problem(
                    _where(None, part), "duplicate_key", f"Part key '{part.key}' is used twice."
                )
            )
        seen[part.key] = "part"
    item_keys: set[str] = set()
    for _, item in rule_set.items():
        if item.key in item_keys:
            problems.append(
                Problem(_where(item), "duplicate_key", f"Item key '{item.key}' is used twice.")
            )
        item_keys.add(item.key)
    parts = {p.key for p in rule_set.parts}
    for _, item in rule_set.items():
        problems += _check_item(rule_set, item, parts)
    for part in rule_set.parts:
        total = _sum([i.points for i in part.items])
        if total != dec(part.points):
            problems.append(
                Problem(
                    _where(None, part),
                    "points_do_not_add_up",
                    f"Part '{part.key}' ({part.name}) has {fmt(part.points)} points but its items "
                    f"add up to {fmt(total)}.",
                )
            )
    for bonus, stated, what in ((False, rule_set.total, "total"), (True, rule_set.bonus, "bonus")):
        total = _sum([p.points for p in rule_set.parts if p.bonus == bonus])
        if total != dec(stated):
            problems.append(
                Problem(
                    "rule set",
                    "points_do_not_add_up",
                    f"The {'bonus ' if bonus else ''}parts add up to {fmt(total)} points, but the "
                    f"rule set states a {what} of {fmt(stated)}.",
                )
            )
    if rule_set.annual is not None:
        for key in rule_set.annual.monthly_parts:
            if key not in parts:
                problems.append(
                    Problem("rule set", "unknown_part", f"annual.monthly_parts: no part '{key}'.")
                )
    if not problems:
        try:
            rule_set.order()
        except ValueError:
            deps = _dependencies(rule_set)
            circle = sorted(k for k, d in deps.items() if d)
            problems.append(
                Problem(
                    "rule set",
                    "circular_inputs",
                    f"Items read each other in a circle (among {', '.join(circle)}).",
                )
            )
    return problems


def _structure_problems(exc: ValidationError, raw: dict[str, Any]) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        where, said = "rule set", "The rule set"
        node: Any = raw
        rest: list[str] = []
        for i, step in enumerate(loc):
            if isinstance(step, int) and isinstance(node, list) and step < len(node):
                node = node[step]
                key = node.get("key", f"#{step + 1}") if isinstance(node, dict) else f"#{step + 1}"
                kind = "item" if loc[i - 1] == "items" else "part"
                where = f"{kind} '{key}'"
                name = node.get("name") if isinstance(node, dict) else None
                said = f"{kind.capitalize()} '{key}'" + (f" ({name})" if name else "")
                rest = []
            elif isinstance(node, dict) and isinstance(step, str):
                node = node.get(step)
                rest.append(step)
            else:
                rest.append(str(step))
        field = ".".join(r for r in rest if r not in ("items", "parts"))
        if error["type"] == "missing":
            text = f"'{field}' is required"
        elif error["type"] == "extra_forbidden":
            text = f"unknown field '{field}'"
        else:
            text = f"'{field}': {error['msg']}" if field else str(error["msg"])
        problems.append(Problem(where, error["type"], f"{said}: {text}."))
    return problems


def parse_rule_set(text: str, *, shown: str = "rule file", kind: str = "yaml") -> RuleSet:
    """A rule set from the text of a YAML (or TOML) file, checked as a whole.

    Raises
    ------
    ValidationFailed
        Listing every problem, each naming the part or item and what is wrong.
    """
    try:
        raw = tomllib.loads(text) if kind == "toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ValidationFailed(
            f"'{shown}' is not valid {kind.upper()}: {exc}",
            [Problem(shown, "syntax", str(exc))],
        ) from None
    if not isinstance(raw, dict):
        raise ValidationFailed(f"'{shown}' must hold a mapping (name, version, parts, …).")
    try:
        rule_set = RuleSet.model_validate(raw)
    except ValidationError as exc:
        problems = _structure_problems(exc, raw)
    else:
        problems = check_rule_set(rule_set)
    if problems:
        raise ValidationFailed(
            f"Rule set '{shown}' is not valid: {len(problems)} problem(s). "
            f"First: {problems[0].message}",
            problems,
        )
    return rule_set


def preset_names() -> list[str]:
    """The names of the built-in rule sets."""
    folder = files("geogrid.assessment").joinpath("presets")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_rule_set(source: str | Path) -> RuleSet:
    """A rule set from a file (``.yaml``, ``.yml`` or ``.toml``) or a preset name.

    Parameters
    ----------
    source
        A path, or the name of a built-in rule set (:func:`preset_names`:
        ``kunming-district-2021``, ``template-2022``, ``dongying-2018``, ``district-detail``).

    Raises
    ------
    NotFound
        Neither a file nor a preset of that name exists.
    ValidationFailed
        The rule set breaks a rule (see :func:`parse_rule_set`).
    """
    text = str(source)
    if isinstance(source, str) and text in preset_names():
        resource = files("geogrid.assessment").joinpath("presets", f"{text}.yaml")
        return parse_rule_set(resource.read_text(encoding="utf-8"), shown=text)
    path = Path(source)
    if not path.is_file():
        raise NotFound(
            f"No rule file '{text}' and no preset of that name; presets: "
            f"{', '.join(preset_names())}."
        )
    kind = "toml" if path.suffix.lower() == ".toml" else "yaml"
    return parse_rule_set(path.read_text(encoding="utf-8"), shown=path.name, kind=kind)
