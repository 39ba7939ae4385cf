"""Whole-project machinery: compile databases, discovery, configuration, caching, running."""
