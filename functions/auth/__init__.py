"""Authentication shared by every route: access tokens, their scopes, and `require` (see service.py)."""
