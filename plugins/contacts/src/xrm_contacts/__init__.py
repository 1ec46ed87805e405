"""Contacts: an XRM plugin. The platform loads :mod:`xrm_contacts.plugin`."""
