"""Collaboration on every record: comments with @mentions, followers, assignment, department shares, history."""

# Registers the clean-up of deleted records' comments, follows and shares on every session.
from . import lifecycle  # noqa: F401
