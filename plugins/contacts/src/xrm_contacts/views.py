"""The contacts pages under ``/contacts/``: the people list, a person's page and its forms.

Reads go through the request's session, so a person outside the user's tenant or reach answers
404 like one that does not exist. Forms are checked with the API's schemas: invalid input is shown
next to its field, with nothing saved (status 422).
"""

from __future__ import annotations

from typing import Any

import xrm_sdk as xrm
from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import api, people
from .consents import STATUSES, consents_of, history_of, set_consent
from .interactions import DIRECTIONS, INTERACTION_CHANNELS, interactions_of, log_interaction
from .profiles import ADDRESS_KINDS, CHANNELS, CONTACT_POINT_KINDS, CONTACT_POINT_LABELS, Profile
from .schemas import (
    AddressSchema,
    ConsentSchema,
    ContactPointSchema,
    InteractionSchema,
    NewPersonSchema,
    PersonSchema,
)

blueprint = Blueprint("contacts_pages", __name__, template_folder="templates", url_prefix="/contacts")

NAVIGATION = [xrm.NavEntry("contacts.people", label=xrm.lazy_gettext("Contacts"), url="/contacts/", order=50)]
#: The form fields of a person, in the order of the form.
PERSON_FIELDS = ("prefix", "given_name", "family_name", "display_name", "job_title", "organization_id",
                 "preferred_channel", "preferred_language", "birthday", "tags", "notes")


def _principal():
    return xrm.principal_of(xrm.db_session())


def _may(resource: str, action: str) -> bool:
    principal = _principal()
    return principal is not None and principal.scope_for(f"{resource}.{action}") is not None


def _form_data(fields: tuple[str, ...]) -> dict[str, Any]:
    """The submitted fields, empty ones left out (optional fields) and tags split on commas."""
    data: dict[str, Any] = {}
    for name in fields:
        value = request.form.get(name, "").strip()
        if name in ("emails", "phones"):
            data[name] = [v.strip() for v in request.form.get(name, "").splitlines() if v.strip()]
        elif name == "tags":
            data[name] = [t.strip() for t in value.split(",") if t.strip()]
        elif value:
            data[name] = value
    return data


def _errors(exc: xrm.ValidationError) -> dict[str, list[str]]:
    """Field → messages, nested messages (``emails.0``) flattened onto their field."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_form": exc.messages}
    flat: dict[str, list[str]] = {}
    for field, value in messages.items():
        key = str(field).split(".")[0]
        if isinstance(value, dict):
            value = [m for nested in value.values() for m in (nested if isinstance(nested, list) else [nested])]
        flat.setdefault(key, []).extend(str(m) for m in (value if isinstance(value, list) else [value]))
    return flat


def _person(party_id: int) -> Profile:
    profile = xrm.db_session().get(Profile, party_id)
    if profile is None or profile.kind != "person":
        abort(404)
    return profile


@blueprint.get("/")
def index():
    """The people the user may see: name filter, sort, keyset pages."""
    args = {k: v for k, v in request.args.items() if v and k in ("cursor", "sort")}
    if request.args.get("q", "").strip():
        args["display_name__contains"] = request.args["q"].strip()
    try:
        query = api.PEOPLE.query_schema().load(args)
    except xrm.ValidationError as exc:
        return render_template("contacts/index.html", page=None, errors=_errors(exc), q=request.args.get("q", ""),
                               may_create=_may("contacts.person", "create")), 422
    page = xrm.cursor_paginate(api._contacts("person"), query)
    return render_template("contacts/index.html", page=page, errors={}, q=request.args.get("q", ""),
                           may_create=_may("contacts.person", "create"))


@blueprint.get("/people/<int:party_id>")
def show(party_id: int):
    """A person: profile, contact points, addresses, consents, interactions and the log form."""
    return _person_page(party_id, {}, {})


def _person_page(party_id: int, errors: dict[str, list[str]], form: Any) -> str:
    session = xrm.db_session()
    profile = _person(party_id)
    employer_id = people.current_employer_id(session, profile)
    return render_template(
        "contacts/person.html", profile=profile, party=profile.party,
        employer=session.get(xrm.Party, employer_id) if employer_id else None,
        consents=consents_of(session, party_id), consent_history=history_of(session, party_id),
        interactions=interactions_of(session, party_id, limit=50), channels=CHANNELS, statuses=STATUSES,
        interaction_channels=INTERACTION_CHANNELS, directions=DIRECTIONS, address_kinds=ADDRESS_KINDS,
        point_kinds=CONTACT_POINT_KINDS, point_labels=CONTACT_POINT_LABELS, errors=errors, form=form,
        may_edit=_may("contacts.person", "update"), may_log=_may("contacts.interaction", "create"),
        may_consent=_may("contacts.consent", "create"),
    )


def _person_form(profile: Profile | None, form: dict[str, Any], errors: dict[str, list[str]]):
    return render_template("contacts/person_form.html", profile=profile, form=form, errors=errors,
                           channels=CHANNELS)


@blueprint.route("/people/new", methods=["GET", "POST"])
def create():
    """Create a person; invalid input is shown next to its field and nothing is saved."""
    if not _may("contacts.person", "create"):
        abort(403)
    if request.method == "GET":
        return _person_form(None, {}, {})
    session = xrm.db_session()
    try:
        data = NewPersonSchema().load(_form_data((*PERSON_FIELDS, "emails", "phones", "region")))
        profile = people.create_contact(session, "person", data, region=data.pop("region", None))
        session.commit()
    except xrm.ValidationError as exc:
        session.rollback()
        return _person_form(None, request.form, _errors(exc)), 422
    except (xrm.Conflict, xrm.PermissionDenied) as exc:
        session.rollback()
        return _person_form(None, request.form, {"_form": [str(exc)]}), 422
    return redirect(url_for(".show", party_id=profile.id))


@blueprint.route("/people/<int:party_id>/edit", methods=["GET", "POST"])
def edit(party_id: int):
    """Change a person; a form opened before someone else's change is refused."""
    session = xrm.db_session()
    profile = _person(party_id)
    if request.method == "GET":
        current = PersonSchema().dump(profile)
        current["tags"] = ", ".join(current.get("tags") or [])
        return _person_form(profile, current, {})
    if request.form.get("version") != str(profile.version):
        errors = {"_form": ["Someone else changed this person after you opened the form; reload it."]}
        return _person_form(profile, request.form, errors), 422
    submitted = _form_data(PERSON_FIELDS)
    # A cleared optional field is a change too.
    changes = {name: submitted.get(name, None if name in ("preferred_channel", "preferred_language", "birthday",
                                                          "organization_id") else "")
               for name in PERSON_FIELDS if name != "display_name"}
    changes["tags"] = submitted.get("tags", [])
    if submitted.get("display_name"):
        changes["display_name"] = submitted["display_name"]
    try:
        people.update_contact(session, profile, PersonSchema(partial=True).load(changes))
        session.commit()
    except xrm.ValidationError as exc:
        session.rollback()
        return _person_form(profile, request.form, _errors(exc)), 422
    except (xrm.PermissionDenied, StaleDataError, IntegrityError) as exc:
        session.rollback()
        return _person_form(profile, request.form, {"_form": [str(exc).splitlines()[0]]}), 422
    return redirect(url_for(".show", party_id=profile.id))


def _detail_form(party_id: int, schema, fields: tuple[str, ...], save) -> Any:
    """Load a small form of the person's page with ``schema`` and ``save`` it; errors re-render the page."""
    session = xrm.db_session()
    profile = _person(party_id)
    try:
        save(session, profile, schema.load(_form_data(fields)))
        session.commit()
    except xrm.ValidationError as exc:
        session.rollback()
        return _page_with_errors(party_id, _errors(exc))
    except (xrm.Conflict, xrm.PermissionDenied) as exc:
        session.rollback()
        return _page_with_errors(party_id, {"_form": [str(exc)]})
    return redirect(url_for(".show", party_id=party_id))


def _page_with_errors(party_id: int, errors: dict[str, list[str]]):
    """The person's page again, with the errors and the submitted values next to the form that failed."""
    return _person_page(party_id, errors, request.form), 422


@blueprint.post("/people/<int:party_id>/interactions")
def log(party_id: int):
    """Log an interaction from the person's page."""
    fields = ("channel", "direction", "occurred_at", "duration_minutes", "subject", "outcome", "notes")
    schema = InteractionSchema(exclude=("party_id", "user_ids", "other_party_ids"))

    def save(session, profile, data):
        principal = xrm.principal_of(session)
        users = [principal.user_id] if principal and principal.user_id else []
        log_interaction(session, profile.party, actor=people.actor_of(session), user_ids=users, **data)

    return _detail_form(party_id, schema, fields, save)


@blueprint.post("/people/<int:party_id>/consents")
def consent(party_id: int):
    """Record a consent answer from the person's page."""

    def save(session, profile, data):
        channel = request.form.get("channel", "")
        set_consent(session, profile.party, channel, data["status"], decided_at=data["decided_at"],
                    source=data["source"], proof=data["proof"], actor=people.actor_of(session))

    return _detail_form(party_id, ConsentSchema(), ("status", "source", "proof"), save)


@blueprint.post("/people/<int:party_id>/contact-points")
def add_point(party_id: int):
    """Add an email, phone, website or social handle from the person's page."""
    return _detail_form(party_id, ContactPointSchema(), ("kind", "label", "value", "service", "region"),
                        lambda session, profile, data: people.add_contact_point(session, profile, data))


@blueprint.post("/people/<int:party_id>/addresses")
def add_address(party_id: int):
    """Add a postal address from the person's page."""
    return _detail_form(party_id, AddressSchema(), ("kind", "street", "postal_code", "city", "region", "country"),
                        lambda session, profile, data: people.add_address(session, profile, data))
