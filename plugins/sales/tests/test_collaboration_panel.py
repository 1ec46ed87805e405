"""The core's collaboration panel on the opportunity page (``xrm_sdk.collaboration_panel``)."""

import re

import xrm_sdk as xrm

API = "/api/v1/sales"


def test_the_opportunity_page_carries_the_collaboration_panel_and_comments_link_back(xrm_client, xrm_session):
    customer = xrm.create_party(xrm_session, "organization", "Atlas Industries")
    xrm_session.commit()
    pipeline = xrm_client.get(f"{API}/pipelines").get_json()[0]
    opportunity = xrm_client.post(f"{API}/opportunities", json={
        "title": "120 licences", "customer_id": customer.id, "currency": "EUR", "pipeline_id": pipeline["id"]})
    assert opportunity.status_code == 201, opportunity.get_json()
    opportunity_id = opportunity.get_json()["id"]
    page = xrm_client.get(f"/sales/opportunities/{opportunity_id}").get_data(as_text=True)
    assert f'data-collaboration="sales.opportunity:{opportunity_id}"' in page
    panel_url = re.search(r'hx-get="(/collaboration/sales\.opportunity/[^"]+)"', page).group(1).replace("&amp;", "&")
    assert xrm_client.get(panel_url).status_code == 200

    posted = xrm_client.post("/api/v1/comments", json={
        "resource": "sales.opportunity", "record_id": opportunity_id, "body": "Legal reviews the terms."})
    assert posted.status_code == 201, posted.get_json()
    panel = xrm_client.get(panel_url).get_data(as_text=True)
    assert "Legal reviews the terms." in panel and 'aria-pressed="true"' in panel
    assert xrm_client.get("/api/v1/comments?resource=sales.opportunity&record_id=999999").status_code == 404
