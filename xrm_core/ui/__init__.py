"""The web user interface: server-rendered pages with htmx for partial updates.

:func:`init_ui` adds the interface to the application: languages (:mod:`.i18n`), the shell every
page shares (:mod:`.shell`), the party pages (:mod:`.parties`) and saved views
(:mod:`.saved_views`). Third-party assets (htmx) are served from ``xrm_core/static``.
"""

from __future__ import annotations

from flask import Flask


def init_ui(app: Flask) -> None:
    """Register the UI's blueprints, languages and template context on ``app``."""
    # Imported here, not at the top: xrm_core.schema imports .models while the core is loading.
    from . import parties, saved_views, session, shell
    from .i18n import init_i18n

    init_i18n(app)
    app.context_processor(shell.shell_context)
    app.teardown_appcontext(session.close_read_session)
    app.jinja_env.globals.update(saved_view_url=saved_views.view_url, visible_views=saved_views.visible_views)
    for blueprint in (shell.blueprint, parties.blueprint, saved_views.blueprint):
        app.register_blueprint(blueprint)
