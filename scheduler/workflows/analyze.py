"""Analyze any plan, e.g. one a coordinator edited by hand, before it is published.

`analyze(instance, schedule)` runs the independent validator and groups what it finds per rule,
each finding with the patients, resources (hospital, suite position, operator, shift, assay)
and dates involved as data, and recomputes the objective to say whether the schedule's own
figures still hold. Nothing is solved: the plan is judged as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models import Instance, Schedule
from models.instance import MEASURES
from scheduler.problem import reasons
from validator import RULES, Violation, compute_objective, validate

# The rule names of SPEC section 3 (`C5 suite:` as in unscheduled reasons), and the validator's
# two checks that are not rules of section 3.
RULE_NAMES: dict[str, str] = {"FORMAT": "format", **reasons.RULE_NAMES, "OBJECTIVE": "objective"}
# Reported measures may be fractional: equal within this slack (as the validator reads them).
TOLERANCE = 1e-6


@dataclass(frozen=True)
class RuleBreaches:
    """Every violation of one rule."""

    rule: str
    violations: list[Violation]

    @property
    def name(self) -> str:
        """The rule's short name, e.g. `suite` for C5."""
        return RULE_NAMES.get(self.rule, self.rule.lower())

    @property
    def patients(self) -> list[str]:
        """Every patient involved in a breach of this rule, sorted."""
        return sorted({who for v in self.violations for who in v.patients})


@dataclass(frozen=True)
class Analysis:
    """What is wrong with a plan, rule by rule, and its objective recomputed."""

    instance: str
    status: str
    rules: list[RuleBreaches]
    objective: dict[str, float]
    reported_objective: dict[str, float] | None

    @property
    def violations(self) -> list[Violation]:
        """Every violation, in rule order."""
        return [v for group in self.rules for v in group.violations]

    @property
    def valid(self) -> bool:
        """No rule is broken (an objective mismatch counts as broken)."""
        return not self.rules

    @property
    def objective_matches(self) -> bool:
        """The schedule reports the objective its assignments give."""
        if self.reported_objective is None:
            return False
        return all(
            abs(self.reported_objective[m] - self.objective[m]) <= TOLERANCE for m in MEASURES
        )

    def rule(self, rule: str) -> list[Violation]:
        """The violations of one rule (empty when it holds)."""
        return next((group.violations for group in self.rules if group.rule == rule), [])

    def to_dict(self) -> dict[str, Any]:
        """The analysis as JSON-ready data."""
        return {
            "instance": self.instance,
            "status": self.status,
            "valid": self.valid,
            "violation_count": len(self.violations),
            "rules": [
                {
                    "rule": group.rule,
                    "name": group.name,
                    "patients": group.patients,
                    "violations": [violation_dict(v) for v in group.violations],
                }
                for group in self.rules
            ],
            "objective": {
                "recomputed": _numbers(self.objective),
                "reported": None
                if self.reported_objective is None
                else _numbers(self.reported_objective),
                "matches": self.objective_matches,
            },
        }


def analyze(instance: Instance, schedule: Schedule) -> Analysis:
    """Every rule the schedule breaks, grouped per rule, and its objective recomputed."""
    found = validate(instance, schedule)
    groups = [
        RuleBreaches(rule, [v for v in found if v.rule == rule])
        for rule in [*RULES, *sorted({v.rule for v in found} - set(RULES))]
        if any(v.rule == rule for v in found)
    ]
    reported = None
    if schedule.objective is not None:
        reported = {str(m): float(getattr(schedule.objective, m)) for m in MEASURES}
    return Analysis(
        instance.name, schedule.status, groups, compute_objective(instance, schedule), reported
    )


def violation_dict(violation: Violation) -> dict[str, Any]:
    """One violation as JSON-ready data: rule, message, patients, resources and dates."""
    return {
        "rule": violation.rule,
        "message": violation.message,
        "patients": list(violation.patients),
        "resources": [{"kind": r.kind, "id": r.id} for r in violation.resources],
        "dates": [day.isoformat() for day in violation.dates],
    }


def format_analysis(analysis: Analysis) -> list[str]:
    """The analysis as text lines for a coordinator: a verdict, `C5 suite: …` lines, the objective."""
    lines = [_verdict(analysis)]
    for group in analysis.rules:
        lines += [f"{group.rule} {group.name}: {v.message}" for v in group.violations]
    lines.append(_objective_line(analysis))
    return lines


def _verdict(analysis: Analysis) -> str:
    if analysis.valid:
        return f"{analysis.instance}: the plan breaks no rule"
    count = len(analysis.violations)
    rules = ", ".join(group.rule for group in analysis.rules)
    return f"{analysis.instance}: {count} violation(s) of {len(analysis.rules)} rule(s) ({rules})"


def _objective_line(analysis: Analysis) -> str:
    values = ", ".join(f"{m} {_number(analysis.objective[m])}" for m in MEASURES)
    if analysis.reported_objective is None:
        return f"objective recomputed: {values} (the schedule reports none)"
    if analysis.objective_matches:
        return f"objective recomputed: {values} (matches the reported objective)"
    reported = ", ".join(f"{m} {_number(analysis.reported_objective[m])}" for m in MEASURES)
    return f"objective recomputed: {values}; the schedule reports {reported}"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _numbers(values: dict[str, float]) -> dict[str, int | float]:
    return {measure: _number(value) for measure, value in values.items()}
