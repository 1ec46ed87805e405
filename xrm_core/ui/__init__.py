"""The web user interface: server-rendered pages with htmx for partial updates.

:func:`init_ui` adds the interface to the application: languages (:mod:`.i18n`), the shell every
page shares (:mod:`.shell`), the party pages (:mod:`.parties`), saved views
(:mod:`.saved_views`), notifications (:mod:`.notifications`) and department homes with their
dashboards (:mod:`.dashboards`). Third-party assets (htmx) are served from ``xrm_core/static``.
"""

from __future__ import annotations

from flask import Flask


def init_ui(app: Flask) -> None:
    """Register the UI's blueprints, languages and template context on ``app``."""
    # Imported here, not at the top: xrm_core.schema imports .models while the core is loading.
    from . import admin, bulk, dashboards, graph_view, notifications, parties, saved_views, session, shell
    from .i18n import init_i18n

    init_i18n(app)
    app.context_processor(shell.shell_context)
    app.teardown_appcontext(session.close_read_session)
    app.jinja_env.globals.update(saved_view_url=saved_views.view_url, visible_views=saved_views.visible_views,
                                 unread_notifications=notifications.unread_notifications,
                                 bell_refresh_seconds=notifications.BELL_REFRESH_SECONDS,
                                 department_home=dashboards.own_home, admin_sections=admin.open_sections)
    from . import collaboration  # the panel of comments, follows and history on record pages
    app.jinja_env.globals["collaboration_panel"] = collaboration.collaboration_panel
    app.register_blueprint(collaboration.blueprint)
    for blueprint in (shell.blueprint, parties.blueprint, bulk.blueprint, saved_views.blueprint,
                      notifications.blueprint, dashboards.blueprint, admin.blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(graph_view.blueprint)
    from . import imports  # data import: upload, mapping, dry run, runs and undo
    app.register_blueprint(imports.blueprint)
    from . import entity_lists  # the plugins' list pages (xrm_list_views)
    app.register_blueprint(entity_lists.blueprint)
    from . import preferences, tokens  # the user's own account pages
    app.register_blueprint(tokens.blueprint)
    app.register_blueprint(preferences.blueprint)
