"""Whether a URL given by a request (``next``, a page to come back to) stays on this site.

"Starts with ``/`` but not ``//``" is not enough: browsers drop tabs and line breaks from a URL
and read ``\\`` as ``/`` (and Werkzeug drops the tab from a redirect's ``Location``), so
``/<tab>/evil.example`` or ``/\\evil.example`` lead to another site. Such paths are refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: What a browser removes from or rewrites in a URL before reading it.
_REWRITTEN = ("\t", "\n", "\r", "\\")


def is_local_path(url: str | None) -> bool:
    """Whether ``url`` is a path of this site (``/parties?q=a``), read as browsers read it."""
    if not url or not url.startswith("/") or url.startswith("//"):
        return False
    if any(character in url for character in _REWRITTEN) or not url.isprintable():
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc
