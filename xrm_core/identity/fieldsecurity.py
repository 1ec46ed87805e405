"""Field security (rule F1): fields only principals holding a permission may read or write.

A model declares its protected fields itself, next to the columns they protect::

    class Contract(xrm.Owned, xrm.TenantScoped, xrm.Model):
        __permission_resource__ = "legal.contract"
        __protected_fields__ = {"fee": "legal.contract.fee"}   # attribute -> permission
        fee: Mapped[int | None]

The permission is declared like any other (``xrm_permissions``) and is held when any of the
principal's roles grants it, whatever the scope: the record-level rules already decided which
records the principal sees, this one decides which of their fields. The same permission covers
reading and writing: a principal without it never sees the field, and may not set it.

Where it applies, by construction:

* API responses (:class:`~xrm_core.api.schemas.RecordSchema`): an unreadable field is absent,
  not ``null``, so a client cannot tell it from a field the resource does not have;
* list endpoints (:mod:`xrm_core.api.listing`): sorting, filtering or selecting an unreadable
  field is refused exactly like an unknown field (422);
* API input: sending an unwritable field is a 422 naming it; and every flush of a session acting
  as a principal refuses a change to a protected attribute without the permission (403), whatever
  code made the change;
* user-facing event deliveries (webhooks, timelines): :func:`redact_payload`.

Sessions without a principal (platform operations) are not restricted; user-facing output with no
principal known (:func:`redact_payload` with ``None``) drops every protected field: fail closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from sqlalchemy import inspect

from ..db import Model
from .principal import Principal

#: The class attribute a model declares its protected fields in: attribute name -> permission.
DECLARATION = "__protected_fields__"

_NONE: Mapping[str, str] = MappingProxyType({})


def protected_fields(model_class: type) -> Mapping[str, str]:
    """The protected fields of ``model_class`` (or of an instance's class): attribute -> permission.

    Empty for a model declaring none. The declaration is validated on first use: naming an
    attribute the model does not have is the model author's mistake, reported at once.
    """
    if not isinstance(model_class, type):
        model_class = type(model_class)
    return _declared(model_class)


@cache
def _declared(model_class: type) -> Mapping[str, str]:
    declared = getattr(model_class, DECLARATION, None)
    if not declared:
        return _NONE
    mapper = inspect(model_class, raiseerr=False)
    if mapper is not None:
        unknown = sorted(set(declared) - set(mapper.attrs.keys()))
        if unknown:
            raise ValueError(
                f"{model_class.__name__}.{DECLARATION} names attributes it does not map: {', '.join(unknown)}"
            )
    return MappingProxyType(dict(declared))


def unwritten_protected(principal: Principal, obj: Any) -> list[str]:
    """Protected attributes of ``obj`` being set or changed without the permission they need.

    A new record may carry them at their empty value (``None``); a loaded one may not change them.
    """
    hidden = unreadable_fields(principal, type(obj))
    if not hidden:
        return []
    state = inspect(obj)
    changed = []
    for name in sorted(hidden):
        history = state.attrs[name].history
        if state.pending or state.transient:
            if getattr(obj, name) is not None:
                changed.append(name)
        elif history.has_changes():
            changed.append(name)
    return changed


def unreadable_fields(principal: Principal | None, model_class: type) -> frozenset[str]:
    """Protected attributes of ``model_class`` that ``principal`` may neither read nor write.

    With no principal (user-facing output whose audience is unknown) every protected field is.
    """
    return frozenset(
        name for name, permission in protected_fields(model_class).items()
        if principal is None or principal.scope_for(permission) is None
    )


def models_of_resource(resource: str) -> list[type]:
    """The mapped classes whose ``__permission_resource__`` is ``resource`` (``core.party``)."""
    return [
        mapper.class_ for mapper in Model.registry.mappers
        if getattr(mapper.class_, "__permission_resource__", None) == resource
    ]


def redact_payload(principal: Principal | None, resource: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` without the fields of ``resource`` that ``principal`` may not read.

    For event deliveries that leave the platform to people (webhooks, timelines, e-mails): the
    protected attribute names are removed wherever they appear as keys, at any depth (a
    ``changes`` map, a ``before``/``after`` pair), since a payload's layout is its event type's.
    Removing a same-named key that was not the field errs on the safe side.
    """
    hidden: set[str] = set()
    for model_class in models_of_resource(resource):
        hidden |= unreadable_fields(principal, model_class)
    return without_fields(payload, frozenset(hidden))


def unreadable_anywhere(principal: Principal | None) -> frozenset[str]:
    """Every protected attribute name, of any model, that ``principal`` may not read.

    For stored events shown to a person whose payloads may be about any record (a party's
    timeline mixes every plugin's events): without the entity's model at hand, each such name is
    removed with :func:`without_fields`, erring on the safe side like :func:`redact_payload`.
    Computed once per page, not per payload.
    """
    hidden: set[str] = set()
    for mapper in Model.registry.mappers:
        hidden |= unreadable_fields(principal, mapper.class_)
    return frozenset(hidden)


def without_fields(payload: Mapping[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """``payload`` without the keys in ``hidden``, at any depth."""
    return _without(payload, hidden) if hidden else dict(payload)


def _without(value: Any, hidden: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {key: _without(item, hidden) for key, item in value.items() if key not in hidden}
    if isinstance(value, list | tuple):
        return [_without(item, hidden) for item in value]
    return value
