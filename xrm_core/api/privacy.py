"""``/api/v1/parties/<id>/personal-data`` and ``…/erase``: a person's data rights over REST.

The archive is a zip (``application/zip``); the erasure answers what each plugin did. Both act
through the request's permission-scoped session: a party the caller cannot see is a 404, one they
may see but not export (``core.party.export``) or erase (``core.party.delete``) a 403.
"""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import fields

from .. import web
from ..privacy import erase_personal_data, personal_data_archive
from .auth import current_principal
from .blueprint import ApiBlueprint
from .schemas import Schema

blueprint = ApiBlueprint("core_privacy", __name__, description=(
    "Data-access and erasure requests: everything the platform holds about a party, across plugins."))


class ErasureSchema(Schema):
    party_id = fields.Integer()
    plugins = fields.List(fields.String(), metadata={"description": "The plugins that erased their records."})


@blueprint.route("/parties/<int:party_id>/personal-data")
class PersonalData(MethodView):
    @blueprint.response(200, content_type="application/zip", description="A zip of one JSON file per source.")
    def get(self, party_id: int):
        """Export everything the platform holds about the party (audited)."""
        session = web.db_session()
        archive = personal_data_archive(session, web.platform(), party_id, current_principal().name)
        session.commit()
        return Response(archive, mimetype="application/zip", headers={
            "Content-Disposition": f'attachment; filename="party-{party_id}-personal-data.zip"'})


@blueprint.route("/parties/<int:party_id>/erase")
class Erasure(MethodView):
    @blueprint.response(200, ErasureSchema)
    def post(self, party_id: int):
        """Erase the party's personal data in every plugin and anonymise the party (audited)."""
        session = web.db_session()
        report = erase_personal_data(session, web.platform(), party_id, current_principal().name)
        session.commit()
        return report
