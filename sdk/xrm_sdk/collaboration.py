"""The collaboration panel (comments with @mentions, follow, assign, share, change history) for a
plugin's record page.

In the page's template, for a record under record-level permissions (``xrm.Owned``)::

    {{ collaboration_panel(opportunity) }}

or, from the view, ``xrm.collaboration_panel(record)`` passed to the template. The panel loads
itself with htmx once the page is shown; notifications about comments link back to the page.
Whoever may read the record may comment on and follow it; mentions reach only users who may
read it, and the author is told who was not notified and why.
"""

from __future__ import annotations

from xrm_core.ui.collaboration import collaboration_panel

__all__ = ["collaboration_panel"]
