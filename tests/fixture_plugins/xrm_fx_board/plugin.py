"""Complaints on a board, written only against ``xrm_sdk``: the board component's test plugin.

A complaint goes New -> Investigating -> Resolved; it cannot be resolved before its resolution is
written. Complaints are department records (``board.complaint.<action>``), so each user's board
shows only the complaints their rights reach, and moving one needs ``board.complaint.update``.
"""

from pathlib import Path

import xrm_sdk as xrm
from flask import Blueprint, url_for
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

MANIFEST = xrm.Manifest(name="board", title="Complaints board", description="Complaints moved on a board.")

STAGES = {"new": "New", "investigating": "Investigating", "resolved": "Resolved"}


class Complaint(xrm.Owned, xrm.TenantScoped, xrm.Model):
    __tablename__ = "board_complaints"
    __permission_resource__ = "board.complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20), default="new")
    resolution: Mapped[str | None] = mapped_column(String(200))


def move_complaint(session, complaint: Complaint, stage: str) -> None:
    """The one way a complaint changes stage (a plugin's API would call it too).

    :raises xrm.ValidationError: an unknown stage, or resolving without a resolution.
    """
    if stage not in STAGES:
        raise xrm.ValidationError({"stage": [f"Unknown stage {stage!r}."]})
    if stage == "resolved" and not complaint.resolution:
        raise xrm.ValidationError({"resolution": ["Write the resolution before resolving the complaint."]})
    complaint.stage = stage
    session.flush()


def _columns(session):
    return [xrm.BoardColumn(key, title, description="Needs a resolution." if key == "resolved" else "")
            for key, title in STAGES.items()]


def _cards(session):
    return [xrm.BoardCard(c.id, c.stage, c.title, details=[c.resolution] if c.resolution else [])
            for c in session.scalars(select(Complaint).order_by(Complaint.id))]


def _move(session, card, column):
    complaint = session.get(Complaint, int(card)) if card.isdigit() else None
    if complaint is None:
        raise xrm.NotFound(f"No complaint {card}.")
    move_complaint(session, complaint, column)


BOARD = xrm.Board("complaints", title=lambda session: "Complaints", columns=_columns, cards=_cards, move=_move,
                  permission="board.complaint.update",
                  crumbs=lambda session: [("Home", url_for("core.index"))])

pages = Blueprint("board", __name__, url_prefix="/board")
BOARD.register(pages, "/complaints")


@xrm.hookimpl
def xrm_models():
    return [Complaint]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [pages]


@xrm.hookimpl
def xrm_permissions():
    actions = ("read", "create", "update", "delete", "assign", "share", "export", "link")
    return [xrm.Permission(f"board.complaint.{action}", f"{action.capitalize()} complaints") for action in actions]
