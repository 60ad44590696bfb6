"""Who is logged in: the session cookie, the tokens behind it, their renewal and their end."""
