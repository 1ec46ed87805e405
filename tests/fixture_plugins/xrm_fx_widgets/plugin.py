"""A plugin for the dashboard tests: one widget that works and one that raises while rendering."""

from html import escape

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="widgets", title="Widgets", description="Dashboard widgets for the UI tests.")


class WidgetBroke(RuntimeError):
    """What the broken widget raises while rendering."""


def _greeting(tenant):
    return f'<p class="widgets-greeting">Hello from {escape(tenant.name)}</p>'


def _broken(tenant):
    raise WidgetBroke(f"cannot render for {tenant.slug}")


@xrm.hookimpl
def xrm_dashboard_widgets(tenant):
    return [
        xrm.DashboardWidget("widgets.greeting", title="Greeting", render=_greeting),
        xrm.DashboardWidget("widgets.broken", title="Broken widget", render=_broken),
    ]
