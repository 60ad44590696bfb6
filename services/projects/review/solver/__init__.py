"""Expert assignment: the match score (`match`), the optimal assignment (max flow + LP with a
certificate, `flow`), the greedy baseline, and the JSON export (`export`). Pure: no database.

Import from the modules themselves: this package re-exports nothing, so that `match` (used
while the service builds candidates) does not load numpy and scipy with the solver's modules,
about a second of the projects service's start-up.
"""
