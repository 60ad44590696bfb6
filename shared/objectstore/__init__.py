"""Files kept outside the database, behind a small interface (`ObjectStore`).

Two implementations: a directory (the embedded default, under `.sciplan/`) and an
S3-compatible server (production). Both take and give bytes as streams in bounded chunks, so
no file is ever held whole in memory; the database keeps each file's key, size and SHA-256.
"""
