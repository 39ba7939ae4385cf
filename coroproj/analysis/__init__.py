"""Analysis: per-unit summaries, whole-program inference, findings."""
