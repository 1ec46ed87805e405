"""SDK example ``bookmarks``: records of its own behind a REST API, publishing and reacting to events."""
