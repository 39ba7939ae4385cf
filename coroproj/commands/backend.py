"""Select one of coroproj's cpc coroutine backends in a project's tree.

  coroproj backend --list
  coroproj backend NAME            print the path of the backend's C source
  coroproj backend NAME TREE       make TREE's cpc backend file a link to it

A project whose build already knows a cpc backend (QEMU 1.6's configure
--with-coroutine=cpc compiles coroutine-cpc.c) gets coroproj's in its place
without copying: the file becomes a symbolic link into the installed
package, which ``coroproj cc --backend cpc`` compiles untranslated (it is
the native side of the calling convention) and which follows coroproj's
updates.  What was there is kept as ``FILE.orig``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from coroproj.errors import UserError
from coroproj.util.files import replace_with_symlink, write_text_atomically

USAGE = "coroproj backend [--list] [NAME [TREE]]"
DESCRIPTION = """\
Print or select one of coroproj's cpc coroutine backends, one per backend
interface (the project header they implement).  With NAME alone, print the path of its C source;
with a TREE, make the tree's cpc backend file (for qemu-1.6: coroutine-cpc.c)
a symbolic link to it, so that the tree's own build (configure
--with-coroutine=cpc --cc="coroproj cc --backend cpc") compiles it.  The
replaced file is kept as FILE.orig."""
EXAMPLES = (
    "coroproj backend --list",
    "coroproj backend qemu-1.6 ~/src/qemu && cd ~/src/qemu && "
    "./configure --with-coroutine=cpc --cc='coroproj cc --backend cpc'",
)

# What a header of an older runtime becomes: this runtime's header is the one
# translated code includes (the driver puts it first), so nothing is left to say.
_REPLACED_HEADER = """\
/* Replaced by `coroproj backend {name}`: the original CPC runtime's
 * contract is gone; translated code includes coroproj's cpc_runtime.h
 * (the original is kept as {original}). */
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="the backend (see --list)")
    parser.add_argument("tree", nargs="?", metavar="TREE", help="the project's source tree to select it in")
    parser.add_argument("--list", action="store_true",
                        help="list the backends and the header each implements")


def run(args: argparse.Namespace) -> int:
    from coroproj.runtime.cpc import BACKENDS

    if args.list or args.name is None:
        if args.name is not None:
            raise UserError("coroproj backend: --list takes no NAME")
        for backend in BACKENDS.values():
            print(f"{backend.name}\t{backend.interface}\t{backend.source}")
        return 0
    backend = BACKENDS.get(args.name)
    if backend is None:
        raise UserError(f"coroproj backend: unknown backend '{args.name}' (one of {', '.join(BACKENDS)})")
    if args.tree is None:
        print(backend.source)
        return 0
    tree = Path(args.tree)
    interface = _interface_in(tree, backend.interface)
    if interface is None:
        raise UserError(f"coroproj backend: {tree}: no {backend.interface} under it (include/ or the root): "
                        f"not a tree for the {backend.name} backend")
    _link_backend(tree / backend.tree_file, backend.source)
    for header, telltale in backend.replaced_headers:
        path = tree / header
        if path.is_file() and not path.is_symlink() and telltale in path.read_text(errors="replace"):
            _keep_original(path)
            stub = _REPLACED_HEADER.format(name=backend.name, original=f"{path.name}.orig")
            write_text_atomically(path, stub)
            print(f"{path}: the original runtime's header, replaced (kept as {path.name}.orig)")
    return 0


def _interface_in(tree: Path, header: str) -> Path | None:
    for candidate in (tree / "include" / header, tree / header):
        if candidate.is_file():
            return candidate
    return None


def _link_backend(path: Path, source: Path) -> None:
    if path.is_symlink() and path.resolve() == source.resolve():
        print(f"{path} -> {source} (already)")
        return
    if path.exists() or path.is_symlink():
        _keep_original(path)
    replace_with_symlink(path, source)
    print(f"{path} -> {source}")


def _keep_original(path: Path) -> None:
    """Copy ``path`` to ``path.orig`` once (a second selection keeps the first original)."""
    original = path.with_name(path.name + ".orig")
    if original.exists():
        return
    if path.is_symlink():
        replace_with_symlink(original, Path(path.readlink()))
    else:
        original.write_bytes(path.read_bytes())
