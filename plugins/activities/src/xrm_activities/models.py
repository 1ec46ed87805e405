"""The plugin's tables: tasks, meetings, reminders, time entries and calendar feed tokens.

Every moment is stored in UTC (``DateTime(timezone=True)``); a meeting also keeps its organiser's
time zone, in which its recurrence is expanded, so a weekly 09:00 stays 09:00 across DST changes.
Tasks, meetings and time entries are ``Owned``: who sees and changes them follows the
``activities.task.*``, ``activities.meeting.*`` and ``activities.time.*`` permissions at the
owner's user, team and department. Their children (checklist items, links, attendees, reminders)
are reached through them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

#: Relationship targets by module path: every plugin's models share one registry, where a bare class
#: name such as "Task" may belong to another plugin too (SQLAlchemy then cannot tell them apart).
TASK = "xrm_activities.models.Task"
MEETING = "xrm_activities.models.Meeting"


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


#: Statuses of work still to do (shown on the agenda, counted as overdue).
OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class MeetingKind(enum.StrEnum):
    MEETING = "meeting"
    CALL = "call"


class Task(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """Something to do by someone: the owner user, team or department is its assignee.

    Due either on a day (``due_on``, all day in the tenant's zone) or at a moment (``due_at``).
    A recurring task (``recurrence``, an RFC 5545 RRULE) makes its next occurrence when completed.
    """

    __tablename__ = "activities_tasks"
    __permission_resource__ = "activities.task"
    __table_args__ = (
        CheckConstraint("due_on IS NULL OR due_at IS NULL", name="one_due"),
        Index("ix_activities_tasks_tenant_id_status_due_at", "tenant_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None]
    due_on: Mapped[date | None]
    priority: Mapped[Priority] = mapped_column(_enum(Priority), default=Priority.NORMAL)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.OPEN)
    recurrence: Mapped[str | None] = mapped_column(String(500))
    #: The occurrence made when this one was completed: completing it again makes no second one.
    next_occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("activities_tasks.id", ondelete="SET NULL"))
    #: When the overdue event was published for the current due moment (cleared when it moves).
    overdue_notified_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    checklist: Mapped[list[ChecklistItem]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="ChecklistItem.position")
    links: Mapped[list[TaskLink]] = relationship(back_populates="task", cascade="all, delete-orphan",
                                                 order_by="TaskLink.id")
    reminders: Mapped[list[Reminder]] = relationship(back_populates="task", cascade="all, delete-orphan",
                                                     order_by="Reminder.minutes_before")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def assignee_user_id(self) -> int | None:
        return self.owner_user_id

    @property
    def assignee_team_id(self) -> int | None:
        return self.owner_team_id

    @property
    def party_ids(self) -> list[int]:
        return [link.party_id for link in self.links if link.party_id is not None]

    @property
    def records(self) -> list[str]:
        return [link.record for link in self.links if link.record is not None]


class ChecklistItem(xrm.TenantScoped, xrm.Model):
    __tablename__ = "activities_checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("activities_tasks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(500))
    done: Mapped[bool] = mapped_column(default=False)

    task: Mapped[Task] = relationship(TASK, back_populates="checklist")


class TaskLink(xrm.TenantScoped, xrm.Model):
    """A party the task is about, or a record of any plugin (``<plugin>.<entity>:<id>``)."""

    __tablename__ = "activities_task_links"
    __table_args__ = (CheckConstraint("(party_id IS NULL) <> (record IS NULL)", name="party_or_record"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("activities_tasks.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)
    record: Mapped[str | None] = mapped_column(String(120), index=True)

    task: Mapped[Task] = relationship(TASK, back_populates="links")


class Reminder(xrm.TenantScoped, xrm.Model):
    """Tell the assignee ``minutes_before`` the task is due (business minutes when ``business_time``)."""

    __tablename__ = "activities_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("activities_tasks.id", ondelete="CASCADE"), index=True)
    minutes_before: Mapped[int] = mapped_column(default=0)
    business_time: Mapped[bool] = mapped_column(default=False)
    #: When it is due to fire (UTC); ``None`` while the task has no due moment.
    fire_at: Mapped[datetime | None] = mapped_column(index=True)
    fired_at: Mapped[datetime | None]

    task: Mapped[Task] = relationship(TASK, back_populates="reminders")


class Meeting(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A meeting or call; the owner is its organiser.

    ``starts_at``/``ends_at`` are the first occurrence in UTC; ``time_zone`` is the organiser's,
    in which ``recurrence`` is expanded. An all-day event starts at local midnight and lasts whole days.
    """

    __tablename__ = "activities_meetings"
    __permission_resource__ = "activities.meeting"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_activities_meetings_tenant_id_starts_at", "tenant_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[MeetingKind] = mapped_column(_enum(MeetingKind), default=MeetingKind.MEETING)
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    video_url: Mapped[str] = mapped_column(String(500), default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    time_zone: Mapped[str] = mapped_column(String(63), default="UTC")
    all_day: Mapped[bool] = mapped_column(default=False)
    recurrence: Mapped[str | None] = mapped_column(String(500))
    #: The last occurrence end whose ``activities.meeting.ended`` was published.
    ended_through: Mapped[datetime | None]
    #: The ``UID`` of an imported iCalendar event, so importing the same file twice adds nothing.
    ical_uid: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    attendees: Mapped[list[Attendee]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                     order_by="Attendee.id")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def organiser_user_id(self) -> int | None:
        return self.owner_user_id

    @property
    def attendee_user_ids(self) -> list[int]:
        return [a.user_id for a in self.attendees if a.user_id is not None]

    @property
    def attendee_party_ids(self) -> list[int]:
        return [a.party_id for a in self.attendees if a.party_id is not None]


class Attendee(xrm.TenantScoped, xrm.Model):
    """A user or a party invited to a meeting."""

    __tablename__ = "activities_attendees"
    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (party_id IS NULL)", name="user_or_party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("activities_meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)

    meeting: Mapped[Meeting] = relationship(MEETING, back_populates="attendees")


class TimeEntry(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """Time the owner user spent on a day, on a party, a record or a task."""

    __tablename__ = "activities_time_entries"
    __permission_resource__ = "activities.time"
    __party_key__ = "party_id"
    __table_args__ = (
        CheckConstraint("minutes > 0", name="positive_minutes"),
        Index("ix_activities_time_entries_tenant_id_day", "tenant_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    minutes: Mapped[int]
    note: Mapped[str] = mapped_column(String(500), default="")
    party_id: Mapped[int | None] = mapped_column(ForeignKey("core_parties.id", ondelete="SET NULL"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("activities_tasks.id", ondelete="SET NULL"), index=True)
    record: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def user_id(self) -> int | None:
        return self.owner_user_id


class FeedToken(xrm.TenantScoped, xrm.Model):
    """A user's private calendar feed URL; only the token's SHA-256 is kept."""

    __tablename__ = "activities_feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    revoked_at: Mapped[datetime | None]
