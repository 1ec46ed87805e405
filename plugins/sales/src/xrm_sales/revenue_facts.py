"""Facts about customers for the contacts' segments (``xrm_party_facts``): revenue, RFM, CLV.

Each fact is a select of ``(party_id, value)`` run in the reader's scoped session, so a segment
only counts the orders its user may see.
"""

from __future__ import annotations

from datetime import timedelta

import xrm_sdk as xrm

from .clv import SEGMENTS, predicted_clv_query, revenue_since_query, rfm_query


def _today():
    return xrm.utcnow().date()


def _revenue_12m(session):
    return revenue_since_query(_today() - timedelta(days=365))


def _rfm_segment(session):
    scored = rfm_query().subquery("rfm")
    return scored.select().with_only_columns(scored.c.customer_id, scored.c.segment)


def _clv(session):
    return predicted_clv_query(_today())


PARTY_FACTS = [
    xrm.PartyFact("sales.revenue_12m", label="Revenue over the last 12 months (net)", type="number",
                  query=_revenue_12m),
    xrm.PartyFact("sales.rfm_segment", label="RFM segment", type="choice", query=_rfm_segment, choices=SEGMENTS),
    xrm.PartyFact("sales.clv", label="Predicted customer lifetime value", type="number", query=_clv),
]
