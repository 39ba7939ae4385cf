"""Rendering findings and call graphs: GCC-style text, JSON, SARIF, dot."""
