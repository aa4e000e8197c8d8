"""Users, roles, scoped grants, sessions, tokens, API keys and permission checks."""

from toancanh.core.auth.models import ROLES, ApiKey, AuthSession, Grant, LoginAttempt, User
from toancanh.core.auth.scope import Principal, ScopedGrant, get_scoped, scope_condition, scoped

__all__ = [
    "ROLES",
    "ApiKey",
    "AuthSession",
    "Grant",
    "LoginAttempt",
    "Principal",
    "ScopedGrant",
    "User",
    "get_scoped",
    "scope_condition",
    "scoped",
]
