"""Words several services must agree on, each defined once.

`CreditLevel` is ordered: A is the best level, D the worst; compare levels with `at_least`,
never as strings.
"""

from __future__ import annotations

from enum import StrEnum


class CreditLevel(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"

    @property
    def rank(self) -> int:
        """0 for A (the best) to 3 for D (the worst)."""
        return list(CreditLevel).index(self)

    def at_least(self, minimum: CreditLevel) -> bool:
        """As good as `minimum` or better (B is at least C; D is at least only D)."""
        return self.rank <= minimum.rank


class EligibilityAction(StrEnum):
    """What credit rules on: applying for funding, reviewing as an expert, using vouchers. A
    restriction bars one of them."""

    apply = "apply"
    review = "review"
    voucher = "voucher"


class TrancheMilestone(StrEnum):
    """When a tranche of a grant is paid."""

    signing = "signing"
    midterm = "midterm"
    acceptance = "acceptance"


class BudgetCategory(StrEnum):
    equipment = "equipment"
    business = "business"
    labour = "labour"
    indirect = "indirect"


class ChangeKind(StrEnum):
    """An approved change to a running project."""

    extension = "extension"
    pi_change = "pi_change"
    budget_reallocation = "budget_reallocation"


class TerminationCause(StrEnum):
    misconduct = "misconduct"
    inability = "inability"
    request = "request"


class AcceptanceResult(StrEnum):
    """A project that passed acceptance (验收): outright, or with conditions."""

    passed = "passed"
    conditional = "conditional"
