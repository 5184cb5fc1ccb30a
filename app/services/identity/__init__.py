"""Identity and access: organisations, users, tokens, sessions, grants and the access policy."""
