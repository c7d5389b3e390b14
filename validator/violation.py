"""The result type of the validator: one broken rule, in words a coordinator can act on."""

from __future__ import annotations

from dataclasses import dataclass

# Output order: format problems first (they may make later findings moot), then the SPEC rules
# in numeric order (C2 before C10, not string order), then objective mismatches.
RULES: tuple[str, ...] = (
    "FORMAT",
    "C1",
    "C2",
    "C3",
    "C4",
    "C5",
    "C6",
    "C7",
    "C8",
    "C9",
    "C10",
    "C11",
    "OBJECTIVE",
)


@dataclass(frozen=True)
class Violation:
    """One broken rule: `rule` is `C1`…`C11`, `FORMAT` or `OBJECTIVE`; `message` names who, what and when."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def sort_key(violation: Violation) -> tuple[int, str, str]:
    """Sort by rule (in `RULES` order), then message."""
    index = RULES.index(violation.rule) if violation.rule in RULES else len(RULES)
    return (index, violation.rule, violation.message)
