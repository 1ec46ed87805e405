"""Collaboration on every record: comments with @mentions, followers, assignment, department shares, history."""
