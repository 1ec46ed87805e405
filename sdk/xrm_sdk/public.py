"""Public routes of plugins: pages for people without an account (see :mod:`xrm_core.public`)."""

from xrm_core.public import PublicBlueprint, public_session, rate_limit

__all__ = ["PublicBlueprint", "public_session", "rate_limit"]
