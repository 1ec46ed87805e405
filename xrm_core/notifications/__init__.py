"""In-app notifications: one per recipient, sent by workflows, plugins and the core, read in the UI and API."""

from .messages import N_, Message
from .models import Notification
from .service import NotificationError, Sent, mark_all_read, mark_read, notify, recipients, unread_count

__all__ = ["N_", "Message", "Notification", "NotificationError", "Sent", "mark_all_read", "mark_read", "notify",
           "recipients", "unread_count"]
