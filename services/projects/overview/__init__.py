"""What a program manager sees of their calls at a glance: counts, pending formal checks,
review progress per expert and conflicts, each in a bounded number of queries."""
