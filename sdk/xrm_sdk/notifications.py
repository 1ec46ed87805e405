"""In-app notifications as plugins send them.

``notify(session, users=[...], departments=[...], teams=[...], title=..., body=..., url=..., kind=...,
subject=record, actor="plugin:<name>")`` writes one notification per active recipient in the
caller's transaction (nothing is committed) and publishes ``core.notification.created`` once.
Unknown recipients, an empty title or a non-local URL raise :class:`NotificationError`.
"""

from __future__ import annotations

from xrm_core.notifications import Notification, NotificationError, notify

__all__ = ["Notification", "NotificationError", "notify"]
