"""Documents the agency issues as PDF: numbered, hashed, verifiable by anyone."""
