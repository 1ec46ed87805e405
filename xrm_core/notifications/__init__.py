"""In-app notifications: one per recipient, sent by workflows, plugins and the core, read in the UI and API."""

from .models import Notification
from .service import NotificationError, Sent, mark_all_read, mark_read, notify, recipients, unread_count

__all__ = ["Notification", "NotificationError", "Sent", "mark_all_read", "mark_read", "notify", "recipients",
           "unread_count"]
