"""The portal's pages, one module per kind of person (and one for the public)."""
