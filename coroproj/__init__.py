"""coroproj: coroutine annotation checking and CPS compilation for C projects."""

__version__ = "0.1.0"
