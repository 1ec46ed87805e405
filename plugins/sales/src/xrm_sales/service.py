"""What the plugin does, independent of how it is asked (API, page, workflow action)."""

import xrm_sdk as xrm
from sqlalchemy.orm import Session

from .models import Item


def add_item(session: Session, name: str, notes: str = "") -> Item:
    """Add an item and publish ``sales.item.created`` in the same transaction.

    The session's principal must hold ``sales.item.create`` (else ``xrm.PermissionDenied``);
    the caller commits.
    """
    item = Item(name=name, notes=notes)
    session.add(item)
    session.flush()
    principal = xrm.principal_of(session)
    actor = principal.name if principal else "plugin:sales"
    xrm.publish(session, "sales.item.created", item, {"name": item.name}, actor)
    return item
