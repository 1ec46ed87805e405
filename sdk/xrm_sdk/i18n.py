"""Translating a plugin's words with the platform's languages (English, French, Spanish).

A plugin marks its texts with these functions (``xrm.gettext`` in request code, ``xrm.lazy_gettext``
for texts defined at import time, such as navigation labels) and ships its catalogues in its package:
``<package>/translations/<locale>/LC_MESSAGES/messages.po`` with the compiled ``messages.mo`` beside it.
The platform adds every loaded plugin's catalogues to its own, so a page shows the plugin's words in the
user's language; where a plugin and the core translate the same text, the core's translation is used.
Templates translate with ``{{ _("...") }}`` as the core's pages do.

.. versionadded:: 1.2
"""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext, ngettext

__all__ = ["gettext", "lazy_gettext", "ngettext"]
