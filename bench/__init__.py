"""Load benchmarks of SciPlan (not part of the product; run with `make bench`)."""
