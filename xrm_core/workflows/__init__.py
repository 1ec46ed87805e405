"""Workflow automation configured as data: admins decide what happens when something happens.

* :mod:`.models` — workflows, immutable versions, runs pinned to a version, step log, timers;
* :mod:`.definition` — the definition's shape (marshmallow), checked when saved, compiled to run;
* :mod:`.conditions` — CEL conditions; :mod:`.templates` — sandboxed Jinja2 parameters;
* :mod:`.functions` — plugins' functions for conditions (``xrm_workflow_functions``);
* :mod:`.actions` — the core's actions and the plugins' (``xrm_workflow_actions``);
* :mod:`.engine` — triggers through the event bus, runs, waits, retries, loop guard, :func:`tick`;
* :mod:`.dates` — date triggers ("30 days before a contract ends"), fired by a periodic scan;
* :mod:`.service` — saving (every edit a version), enabling, import/export, manual runs;
* :mod:`.dryrun` — dry runs and backtests, with no side effects;
* :mod:`.cli` — ``xrm workflows``; the REST API is :mod:`xrm_core.api.workflows`.

Importing the package registers the engine with the event bus (a core subscriber and an
in-transaction receiver), which is why :mod:`xrm_core.schema` imports it.
"""

from . import dates, engine, models  # noqa: F401 -- registers the subscriber and jobs, declares the tables
from .engine import tick

__all__ = ["tick"]
