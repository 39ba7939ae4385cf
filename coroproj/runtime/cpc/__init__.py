"""The cpc continuation runtime and its coroutine backend, shipped as C sources.

Nothing here is compiled by Python: a build links ``SOURCES`` (with the
project's include directory on the path, for ``qemu/coroutine_int.h``) into
the program, and translated code includes ``HEADER``.  The calling
convention is documented in the header itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

RUNTIME_DIR: Path = Path(__file__).resolve().parent
"""Directory to put on the include path (``-I``) of translated code."""

HEADER: Path = RUNTIME_DIR / "cpc_runtime.h"
"""The calling-convention header every translated file includes."""

SOURCES: tuple[Path, ...] = (RUNTIME_DIR / "cpc_runtime.c", RUNTIME_DIR / "coroutine-cpc.c")
"""C files to compile and link: the continuation runtime and the backend."""


@dataclass(frozen=True)
class Backend:
    """A coroutine backend for one project's backend interface, shipped as C."""

    name: str
    source: Path
    interface: str
    """The project header it implements (what ``#include`` it needs)."""
    tree_file: str
    """Where the project's build looks for a cpc backend, relative to its root."""
    replaced_headers: tuple[tuple[str, str], ...] = ()
    """Headers of an older runtime the tree may carry: (path, a string telling it)."""


BACKENDS: dict[str, Backend] = {
    backend.name: backend
    for backend in (
        Backend("sample", RUNTIME_DIR / "coroutine-cpc.c", "qemu/coroutine_int.h", "util/coroutine-cpc.c"),
        Backend(
            "qemu-1.6",
            RUNTIME_DIR / "qemu-1.6" / "coroutine-cpc.c",
            "block/coroutine_int.h",
            "coroutine-cpc.c",
            # The 2013 CPC port includes the original CPC runtime's header from
            # qemu-common.h and block/coroutine.h; its types (cpc_function...)
            # clash with this runtime's.
            (("include/cpc/cpc_runtime.h", "cpc_continuation"),),
        ),
    )
}
"""Backends by name (``coroproj backend``); each source is compiled untranslated."""

YIELD_FUNCTION = "qemu_coroutine_yield"
"""The coroutine function whose frame the trampoline stops at (never run)."""

NEED_CONT_FUNCTIONS: frozenset[str] = frozenset({"qemu_coroutine_self", "qemu_in_coroutine"})
"""Natives defined by the backend with a hidden first ``cpc_cont *k`` argument:
the current continuation from coroutine code, ``NULL`` from native code."""

# What decides the output of `coroproj cc --backend cpc`, besides the user's C.
_TRANSLATION_SOURCES = ("cps", "frontend", "driver", "runtime/cpc")


def translation_digest() -> str:
    """A digest of the translator, the driver and the runtime sources.

    Build tools put it into the cpc compile command (the SCons site tool
    does), so that a changed translator or runtime rebuilds what it
    translated or linked: their command lines alone would not change.
    """
    package = RUNTIME_DIR.parents[1]
    digest = hashlib.sha256()
    for directory in _TRANSLATION_SOURCES:
        for path in sorted((package / directory).rglob("*")):
            if path.suffix in (".py", ".c", ".h") and path.is_file():
                digest.update(path.relative_to(package).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
