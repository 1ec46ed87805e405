"""Boards (kanban): columns of cards that people drag from one column to another.

A plugin declares a :class:`Board` with its columns (e.g. the stages of a pipeline), its cards (read
through the request's session, so already limited to what the user may see) and a move callback
that goes through the plugin's own service, the one its API uses; then registers it on its
blueprint. The core serves the page (``templates/board/``), the move endpoint and the
drag-and-drop script (``static/xrm-board.js``). Without JavaScript each card has a "Move to" select
and a button doing the same move.

A refused move changes nothing (its transaction is rolled back) and says why: on the page for a
form, as RFC 9457 problem+json for a script or an API client (403 without the permission, 404 for
a card the user may not see, 422 naming what a column requires).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from marshmallow.exceptions import SCHEMA

from .. import web
from ..api.errors import CLIENT_ERRORS, flatten_errors, problem_for
from ..identity.scoping import PermissionDenied, principal_of
from ..problems import problem

#: Board names become endpoint names and HTML ids.
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
#: The header the board's script sends to get the board back as an HTML fragment.
FRAGMENT_HEADER = "X-XRM-Board"
#: The board's page; it includes ``board/_board.html``, the board with its script and styles.
PAGE = "board/page.html"


@dataclass(frozen=True)
class BoardColumn:
    """One column of a board (a stage); ``key`` is what the move callback receives."""

    key: str
    title: str
    #: A line under the title, e.g. what entering the stage requires.
    description: str = ""
    #: A short figure next to the title, e.g. the stage's probability.
    badge: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", str(self.key))


@dataclass(frozen=True)
class BoardCard:
    """One card: the record ``key`` in the column ``column``, with its title, link and detail lines."""

    key: str
    column: str
    title: str
    url: str | None = None
    details: Sequence[str] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", str(self.key))
        object.__setattr__(self, "column", str(self.column))


@dataclass(frozen=True)
class BoardView:
    """What the board templates render: the columns with their cards, and what to say."""

    name: str
    title: str
    columns: list[tuple[BoardColumn, list[BoardCard]]]
    move_url: str
    may_move: bool
    crumbs: Sequence[tuple[str, str]] = ()
    notice: str = ""
    refusal: str = ""


@dataclass(frozen=True)
class Board:
    """A board a plugin declares once and registers on its blueprint with :meth:`register`.

    Every callable gets the request's scoped session and the URL's arguments (``pipeline_id=…``):

    * ``title(session, **args) -> str``: the page's heading;
    * ``columns(session, **args) -> [BoardColumn]``: the columns in order (raise
      ``xrm.NotFound`` / ``xrm.PermissionDenied`` when the board itself is not visible);
    * ``cards(session, **args) -> [BoardCard]``: the cards, read through ``session`` so that only
      those the user may see are there; a card whose column is not on the board is left out;
    * ``move(session, card_key, column_key, **args)``: the move, through the plugin's service; it
      raises ``xrm.NotFound`` for a card the user may not see, ``xrm.PermissionDenied`` or
      ``xrm.ValidationError`` (naming the fields) to refuse. The core commits, or rolls back.

    Users who lack ``permission`` (in every scope) see the board without move controls and their
    moves are refused (403); the record's own rights (its department, its owner) are checked by the
    service when it flushes. ``crumbs(session, **args)`` gives the links above the heading as
    ``(label, url)`` pairs.
    """

    name: str
    title: Callable[..., str]
    columns: Callable[..., Sequence[BoardColumn]]
    cards: Callable[..., Iterable[BoardCard]]
    move: Callable[..., Any]
    permission: str | None = None
    crumbs: Callable[..., Sequence[tuple[str, str]]] | None = None

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"board name {self.name!r}: use lower-case letters, digits and '_'")

    def register(self, blueprint: Blueprint, rule: str) -> None:
        """Serve the board at ``rule`` (endpoint ``<name>``) and its moves at ``rule/move`` (``<name>_move``)."""
        blueprint.add_url_rule(rule, self.name, self._page, methods=["GET"])
        blueprint.add_url_rule(f"{rule}/move", f"{self.name}_move", self._move, methods=["POST"])

    def _view(self, session, args: dict[str, Any], *, notice: str = "", refusal: str = "") -> BoardView:
        """The board as the user sees it now."""
        columns = list(self.columns(session, **args))
        by_column: dict[str, list[BoardCard]] = {column.key: [] for column in columns}
        for card in self.cards(session, **args):
            by_column.get(card.column, []).append(card)
        return BoardView(
            name=self.name, title=self.title(session, **args),
            columns=[(column, by_column[column.key]) for column in columns],
            move_url=url_for(f".{self.name}_move", **args), may_move=self._may_move(session),
            crumbs=self.crumbs(session, **args) if self.crumbs else (), notice=notice, refusal=refusal)

    def _may_move(self, session) -> bool:
        principal = principal_of(session)
        return self.permission is None or principal is None or principal.scope_for(self.permission) is not None

    def _page(self, **args: Any):
        session = web.db_session()
        return render_template(PAGE, board=self._view(session, args))

    def _move(self, **args: Any):
        session = web.db_session()
        card, column = request.form.get("card", "").strip(), request.form.get("column", "").strip()
        try:
            columns = {c.key: c for c in self.columns(session, **args)}
            if not self._may_move(session):
                raise PermissionDenied(_("You may not move cards on this board."))
            if not card:
                raise ValidationError({"card": [_("Choose a card to move.")]})
            if column not in columns:
                raise ValidationError({"column": [_("Choose one of the board's columns.")]})
            self.move(session, card, column, **args)
            session.commit()
        except CLIENT_ERRORS as exc:
            session.rollback()
            return self._refused(session, exc, args)
        notice = _("Moved to %(column)s.", column=columns[column].title)
        if request.headers.get(FRAGMENT_HEADER) == "fragment":
            return render_template("board/_columns.html", board=self._view(session, args, notice=notice))
        if _wants_json():
            return jsonify(card=card, column=column, detail=notice)
        flash(notice, "success")
        return redirect(url_for(f".{self.name}", **args), 303)

    def _refused(self, session, exc: Exception, args: dict[str, Any]):
        found = problem_for(exc)
        reason = _("Not moved: %(reason)s", reason=_refusal_reason(exc, found.detail or found.title))
        if request.headers.get(FRAGMENT_HEADER) == "fragment" or _wants_json():
            extra = {"errors": dict(found.errors)} if found.errors else {}
            return problem(found.status, found.title, reason, **extra)
        return render_template(PAGE, board=self._view(session, args, refusal=reason)), found.status


def _refusal_reason(exc: Exception, fallback: str) -> str:
    """One line saying why: a validation error's messages with their fields, else ``fallback``."""
    if not isinstance(exc, ValidationError):
        return fallback
    parts = [" ".join(messages) if name == SCHEMA else f"{name}: {' '.join(messages)}"
             for name, messages in flatten_errors(exc.messages).items()]
    return "; ".join(parts) or fallback


def _wants_json() -> bool:
    return request.accept_mimetypes.best in ("application/json", "application/problem+json")
