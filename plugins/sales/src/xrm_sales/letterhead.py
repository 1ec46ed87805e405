"""The tenant's letterhead on quotes, orders and invoices: company details, legal mentions and the logo.

A logo is stored in the tenant's :class:`~xrm_sales.documents.DocumentProfile` (the database, so it
follows the tenant's backups and deletion). It is accepted only when Pillow can actually decode it
as a PNG or JPEG of a sensible size: a file that merely claims to be an image would otherwise
break every PDF of the tenant later, far from the upload that caused it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import xrm_sdk as xrm
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from .documents import DocumentProfile
from .documents_service import document_profile
from .permissions import require

#: Larger files only make every PDF heavier; a letterhead logo needs far less.
MAX_LOGO_BYTES = 1024 * 1024
#: Width × height beyond which decoding is refused (a small file can inflate into a huge bitmap).
MAX_LOGO_PIXELS = 4096 * 4096
#: Pillow's format name -> the media type the logo is served with.
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
#: The profile's fields set as values (the logo has its own functions).
SETTABLE_FIELDS = ("company_name", "company_address", "legal_mentions", "payment_terms_days", "quote_validity_days",
                   "external_invoicing")


def logo_format(data: bytes) -> str:
    """The media type of ``data`` once decoded in full as a PNG or JPEG.

    :raises xrm.ValidationError: on ``logo``: empty, too large, not an image, another format, too
        many pixels, or truncated/corrupt data.
    """
    if not data:
        raise xrm.ValidationError({"logo": ["The file is empty."]})
    if len(data) > MAX_LOGO_BYTES:
        raise xrm.ValidationError({"logo": [f"The logo must be at most {MAX_LOGO_BYTES // 1024} KB."]})
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in LOGO_FORMATS:
                raise xrm.ValidationError({"logo": [f"A PNG or JPEG image is expected, not {kind}."]})
            width, height = image.size  # from the header: a bomb is refused before decoding
            if width * height > MAX_LOGO_PIXELS:
                raise xrm.ValidationError({"logo": [
                    f"The image is {width}×{height} pixels; at most {MAX_LOGO_PIXELS} pixels in all."]})
            image.load()  # decodes every pixel: a truncated or corrupt file fails here, not in a PDF
    except UnidentifiedImageError:
        raise xrm.ValidationError({"logo": ["This file is not a PNG or JPEG image."]}) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise xrm.ValidationError({"logo": ["The image is damaged and cannot be read."]}) from None
    return LOGO_FORMATS[kind]


def stored_logo_type(data: bytes) -> str:
    """The media type of a logo already accepted by :func:`set_logo`, from its signature (serving it
    must not decode the image again on every request)."""
    return "image/png" if data.startswith(b"\x89PNG\r\n\x1a\n") else "image/jpeg"


def set_logo(session: Session, data: bytes) -> DocumentProfile:
    """Store ``data`` as the tenant's logo once :func:`logo_format` accepts it (needs ``sales.document_settings.update``)."""
    require(session, "sales.document_settings.update")
    logo_format(data)
    profile = document_profile(session)
    profile.logo = data
    session.flush()
    return profile


def remove_logo(session: Session) -> DocumentProfile:
    """Print the documents without a logo from now on."""
    require(session, "sales.document_settings.update")
    profile = document_profile(session)
    profile.logo = None
    session.flush()
    return profile


def update_letterhead(session: Session, changes: Mapping[str, Any]) -> DocumentProfile:
    """Set some of :data:`SETTABLE_FIELDS` (already validated by the API's or the page's schema)."""
    require(session, "sales.document_settings.update")
    profile = document_profile(session)
    for name, value in changes.items():
        if name not in SETTABLE_FIELDS:
            raise xrm.ValidationError({name: ["Unknown field."]})
        setattr(profile, name, value)
    session.flush()
    return profile
