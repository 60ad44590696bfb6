"""Innovation vouchers: programs, providers, enterprises, vouchers, orders, redemptions."""

from __future__ import annotations
