"""Plugin discovery, dependency resolution and isolated hook calls."""
