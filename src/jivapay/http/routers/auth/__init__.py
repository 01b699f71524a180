"""Sign-in for every role (`/auth/*`): login, token refresh, logout, password change."""

from jivapay.http.identity.auth import route_handlers

__all__ = ["route_handlers"]
