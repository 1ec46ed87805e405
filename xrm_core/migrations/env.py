"""The single Alembic environment shared by the core and every plugin.

It is only run through :mod:`xrm_core.migrate`, which passes an open connection (already inside the
transaction that makes the whole upgrade atomic) and the shared metadata.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=context.config.attributes.get("target_metadata"),
    render_as_batch=True,  # SQLite can only alter tables by copying them
    on_version_apply=context.config.attributes.get("on_version_apply"),
)
with context.begin_transaction():
    context.run_migrations()
