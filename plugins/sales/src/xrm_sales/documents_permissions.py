"""Permissions on quotes, orders and invoices (each follows owner and department scopes)."""

import xrm_sdk as xrm

DOCUMENT_PERMISSIONS = [
    xrm.Permission("sales.quote.read", "See quotes"),
    xrm.Permission("sales.quote.create", "Create quotes"),
    xrm.Permission("sales.quote.update", "Revise and send quotes"),
    xrm.Permission("sales.quote.delete", "Delete quotes"),
    xrm.Permission("sales.order.read", "See orders"),
    xrm.Permission("sales.order.create", "Create orders from accepted quotes"),
    xrm.Permission("sales.order.update", "Change orders' status"),
    xrm.Permission("sales.order.delete", "Delete orders"),
    xrm.Permission("sales.invoice.read", "See invoices and credit notes"),
    xrm.Permission("sales.invoice.create", "Issue invoices and credit notes"),
    xrm.Permission("sales.invoice.update", "Record payments"),
    xrm.Permission("sales.invoice.delete", "Delete invoices"),
    xrm.Permission("sales.revenue.read", "See revenue, lifetime value and RFM reports"),
    xrm.Permission("sales.document_settings.read", "See the documents' letterhead and numbering"),
    xrm.Permission("sales.document_settings.update", "Set the documents' letterhead, terms and numbering"),
]
