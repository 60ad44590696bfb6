"""Money across fiscal years: carry-over rules, the year-end close, final accounts (决算)."""
