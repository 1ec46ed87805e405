"""Claims a party role and a relationship type another plugin already declared."""

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="rival", title="Rival")


@xrm.hookimpl
def xrm_party_roles():
    return [xrm.PartyRole("customer", label="Client"), xrm.PartyRole("partner", label="Partner")]


@xrm.hookimpl
def xrm_relationship_types():
    return [xrm.RelationshipType("employs", forward_label="hires", inverse_label="hired by")]
