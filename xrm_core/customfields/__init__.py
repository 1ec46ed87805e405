"""Custom fields: typed fields a tenant's admins add to parties and to plugin entities.

``mixin`` gives a model its ``custom`` JSON column; ``models`` holds the per-tenant definitions;
``types`` knows each field type (what a value may be, how it is stored, how it filters);
``sql`` extracts typed values from the JSON column on SQLite and PostgreSQL; ``service`` manages
definitions and validates values; ``listing`` filters and sorts lists on custom fields; ``api``
is ``/api/v1/custom-fields``. This module imports none of them, so models can use the mixin
without import cycles.
"""
