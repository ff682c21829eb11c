"""Repositories: the only place that writes SQL. Services call these and never commit."""
