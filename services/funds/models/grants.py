"""Grant money: per-project budgets, tranche schedules, post-subsidies, recoveries."""

from __future__ import annotations
