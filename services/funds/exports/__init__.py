"""Lists of the funds service as CSV or XLSX files."""
