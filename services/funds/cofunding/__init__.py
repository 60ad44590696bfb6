"""Self-raised and matching funds (自筹/配套) declared against a project's budget."""
