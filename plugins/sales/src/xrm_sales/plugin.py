"""The sales plugin's entry point: its manifest and the hooks it implements.

Each hook gathers the contributions of the plugin's features (catalogue and prices, the pipeline
of leads and opportunities, the documents), so a feature adds itself with one line per hook.
"""

from pathlib import Path

import xrm_sdk as xrm

from . import (
    actions,
    analytics_views,
    catalogue,
    catalogue_api,
    demo,
    documents,
    documents_actions,
    documents_api,
    documents_demo,
    documents_events,
    documents_permissions,
    documents_service,
    documents_views,
    events,
    letterhead_views,
    numbering,
    opportunities,
    pipeline,
    pipeline_api,
    pipeline_settings,
    public,
    reports_api,
    revenue_facts,
    revenue_views,
    sales_settings,
    sales_settings_views,
    views,
    webforms,
)
from .permissions import PERMISSIONS

# Sales works on the contacts of the customers and plans follow-ups as activities.
MANIFEST = xrm.Manifest(name="sales", title="Sales", requires=("contacts", "activities"))


@xrm.hookimpl
def xrm_models():
    return [*catalogue.MODELS, *pipeline.MODELS,
            *documents.MODELS, numbering.DocumentSequence, sales_settings.SalesSettings]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [catalogue_api.blueprint, pipeline_api.blueprint, views.blueprint, analytics_views.blueprint,
            webforms.blueprint,
            documents_api.blueprint, documents_views.blueprint, public.blueprint, revenue_views.blueprint,
            pipeline_settings.blueprint, letterhead_views.blueprint, reports_api.blueprint,
            sales_settings_views.blueprint, sales_settings_views.api_blueprint]


@xrm.hookimpl
def xrm_permissions():
    return [*PERMISSIONS, *documents_permissions.DOCUMENT_PERMISSIONS]


@xrm.hookimpl
def xrm_event_types():
    return [*events.EVENT_TYPES, *documents_events.DOCUMENT_EVENT_TYPES]


@xrm.hookimpl
def xrm_workflow_actions():
    return [*actions.WORKFLOW_ACTIONS, *documents_actions.DOCUMENT_WORKFLOW_ACTIONS]


@xrm.hookimpl
def xrm_navigation(tenant):
    return [*views.NAVIGATION, *documents_views.NAVIGATION]


@xrm.hookimpl
def xrm_list_views(tenant):
    return [views.OPPORTUNITY_LIST]


@xrm.hookimpl
def xrm_party_panels(tenant, party):
    return [*views.party_panels(party), *documents_views.party_panels(party)]


@xrm.hookimpl
def xrm_dashboard_widgets(tenant):
    return [*analytics_views.WIDGETS, *revenue_views.WIDGETS]


@xrm.hookimpl
def xrm_periodic_jobs():
    return [*documents_service.PERIODIC_JOBS]


@xrm.hookimpl
def xrm_merge_parties(tenant, session, survivor_id, loser_id):
    opportunities.merge_parties(session, survivor_id, loser_id)
    documents.merge_parties(session, survivor_id, loser_id)


@xrm.hookimpl
def xrm_party_facts(tenant):
    return [*revenue_facts.PARTY_FACTS]


@xrm.hookimpl
def xrm_tenant_setup(tenant, session):
    demo.setup(session)


@xrm.hookimpl
def xrm_demo_data(tenant, session):
    demo.add_demo_data(session)
    documents_demo.add_demo_documents(session, tenant.slug)
