"""The lists a program manager works with, as CSV or XLSX files."""
