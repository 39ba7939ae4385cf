"""Coroutine runtimes that translated programs link with (shipped as C sources)."""
