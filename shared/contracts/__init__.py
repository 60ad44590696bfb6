"""Versioned models of every event and every call between SciPlan's services.

Producers publish instances (`shared.events.outbox.publish`), consumers parse with the same
classes (`shared.events.consumer.Subscription`). See `base.py` for the versioning rule and
`registry.py` for the list the schema snapshots (`docs/contracts/`) are checked against.
"""
