"""The ``coroproj`` command line: argument parsing and dispatch.

Every sub-command lives in ``coroproj.commands.<name>`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``.  Errors the user can
fix (``UserError``) are printed as one line and exit with status 2; a
Python traceback is a bug.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from coroproj import __version__
from coroproj.errors import UserError

COMMANDS = {
    "check": "check annotations of C files or a whole project",
    "why": "explain why a function must (or need not) be a coroutine function",
    "graph": "write the annotated call graph around a function",
    "translate": "show a C file after a pass of the CPS translator",
    "build": "check the annotations, then build the project with a coroutine backend",
    "fix": "insert the coroutine annotations the inference requires",
    "report": "annotation statistics, history and regressions against a baseline",
    "backend": "print or select one of coroproj's cpc coroutine backends in a project's tree",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, exit status 2, like every other usage error.
        raise UserError(f"{self.prog}: error: {message}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, the other commands are only named.

    Importing a command's module brings in its whole stage (the fixer, the
    report's history, the CPS translator): a tenth of a second that a run of
    one command need not pay for the others.
    """
    parser = _Parser(
        prog="coroproj",
        description="Check coroutine_fn annotations and compile coroutines to CPS.",
    )
    parser.add_argument("--version", action="version", version=f"coroproj {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, help_text in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"coroproj.commands.{name.replace('-', '_')}")
        command = sub.add_parser(
            name,
            help=help_text,
            usage=module.USAGE,
            description=module.DESCRIPTION,
            epilog="examples:\n" + "\n".join(f"  {example}" for example in module.EXAMPLES),
            # The description and examples are laid out by hand: keep their lines.
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    # Listed for --help and in "invalid choice"; `main` runs it before argparse
    # ever sees it, since every argument after it is the compiler's.
    sub.add_parser("cc", help=CC_HELP_LINE, add_help=False)
    return parser


CC_HELP_LINE = "a drop-in C compiler that compiles coroutines to CPS (coroproj cc --help)"
CC_USAGE = """\
usage: coroproj cc [--backend cpc|ucontext|sigaltstack|thread] [--print-runtime-dir] COMPILER-ARGUMENTS...

A drop-in C compiler: with the cpc backend, every C source it compiles is
translated to continuation-passing style first, and links get the
continuation runtime; with a stack backend it is the real compiler.

coroproj's own options (first on the command line):
  --backend NAME        cpc (default), ucontext, sigaltstack or thread
  --print-runtime-dir   print where the runtime's C sources are, and exit
  --help, -h            show this help (alone on the command line)

Every other argument goes to the real compiler ($COROPROJ_REAL_CC, default cc)
with gcc's meaning; `cc --help` shows that compiler's own options.

example:
  make CC="coroproj cc --backend cpc"
  coroproj cc --backend cpc -O2 -Iinclude prog.c libqemuutil.a -lpthread -o prog
"""


def split_compiler_flags(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Everything after the first ``--`` goes to the compiler untouched."""
    argv = list(argv)
    if "--" in argv:
        index = argv.index("--")
        return argv[:index], argv[index + 1 :]
    return argv, []


def _compiler_driver(argv: list[str]) -> int:
    """``coroproj cc [--backend NAME] GCC-ARGS...``: every other argument is gcc's."""
    from coroproj.driver.cc import BACKENDS
    from coroproj.driver.cc import main as cc_main

    if argv in (["--help"], ["-h"]):
        print(CC_USAGE, end="")
        return 0
    backend = "cpc"
    if argv[:1] == ["--backend"]:
        if len(argv) == 1 or argv[1].startswith("-"):
            raise UserError(f"coroproj cc: --backend needs a value ({', '.join(BACKENDS)})")
        backend, argv = argv[1], argv[2:]
    elif argv and argv[0].startswith("--backend="):
        backend, argv = argv[0].split("=", 1)[1], argv[1:]
    if backend not in BACKENDS:
        raise UserError(f"coroproj cc: unknown backend '{backend}' (choose {', '.join(BACKENDS)})")
    return cc_main(argv, backend)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a command (worker processes resume it).

    A check of a real tree keeps millions of acyclic records alive (the
    summaries, the linked program); every collection their allocation
    triggers scans all of them for nothing: a third of a one-file re-check
    of QEMU.  The process is short-lived, and workers, which parse unit after
    unit, run with the collector on (``project.runner``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["cc"]:
        try:
            return _compiler_driver(arguments[1:])
        except UserError as error:
            print(str(error), file=sys.stderr)
            return error.exit_status
    own, compiler_flags = split_compiler_flags(arguments)
    try:
        args = build_parser(own[0] if own and own[0] in COMMANDS else None).parse_args(own)
        args.compiler_flags = compiler_flags
        with collector_paused():
            return int(args.run(args))
    except UserError as error:
        print(str(error), file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("coroproj: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


def entry_point() -> None:
    """``coroproj`` as a program: ``main``, then exit without tearing the heap down.

    After a check of a real tree, interpreter shutdown spends most of a
    second freeing the summaries and the program one object at a time (and
    collecting the cycles among them) for a process about to end anyway.
    Everything coroproj writes is complete by then (files are renamed into
    place, SQLite commits per statement), so only the standard streams need
    flushing.
    """
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        status = status or 1
    os._exit(status)
