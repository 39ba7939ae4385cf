"""Check the annotations, then build the project with a coroutine backend.

  coroproj build --backend cpc|ucontext|sigaltstack|thread [PROJECT_DIR] [-j N] [-- BUILD ARGS]

The CPS translation is only correct on correct annotations, so with
``--backend cpc`` any unsuppressed finding stops the build before it
starts (``coroproj fix`` writes the missing annotations).  The stack
backends do not depend on annotations: findings are reported and the
build goes on.  SCons trees build through the project's ``coroproj``
site tool (``BACKEND=...``); Make trees through ``coroproj cc``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from coroproj.commands.inputs import options_from_config
from coroproj.driver.build import run_build
from coroproj.driver.cc import BACKENDS
from coroproj.errors import UserError
from coroproj.project.analyse import analyse_project
from coroproj.project.config import load_config
from coroproj.project.discover import find_project_root
from coroproj.report.text import format_findings

USAGE = "coroproj build [options] --backend NAME [PROJECT_DIR] [-- BUILD-ARGUMENTS]"
DESCRIPTION = """\
Check the annotations, then build the project with a coroutine backend.
With --backend cpc any finding at warning level or above stops the build
before it starts: the CPS translation is only correct on correct
annotations (coroproj fix writes the missing ones).  The stack backends do
not depend on annotations: findings are reported and the build goes on.
SCons trees build through the project's coroproj site tool (BACKEND=...),
Make trees through coroproj cc.  One status line per step, like ninja; -v
shows each step's full command."""
EXAMPLES = (
    "coroproj build --backend cpc sample_project",
    "coroproj build --backend ucontext -j2 -v",
)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", nargs="?", default=".", metavar="PROJECT_DIR",
                        help="the project to build (default: around the current directory)")
    parser.add_argument("--backend", choices=BACKENDS, required=True, help="coroutine backend to build")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="parallel build jobs (default: all cores)")
    parser.add_argument("--no-check", action="store_true",
                        help="build without checking the annotations first")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show each step's full command instead of what it does")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar while checking, no status line per step "
                        "(errors and the failing command are still shown)")


def run(args: argparse.Namespace) -> int:
    start = Path(args.project)
    if not start.is_dir():
        raise UserError(f"coroproj build: {start}: no such directory")
    root = find_project_root(start)
    if not args.no_check and not _annotations_allow(root, args):
        return 1
    result = run_build(root, args.backend, args.jobs, list(args.compiler_flags), verbose=args.verbose,
                       quiet=args.quiet)
    if result.status != 0:
        print(f"coroproj build: the build failed (exit {result.status}): {' '.join(result.command)}",
              file=sys.stderr)
        return 2
    print(f"coroproj build: built {root} with backend {args.backend}; "
          f"{len(result.executables)} executable(s):")
    for path in result.executables:
        print(f"  {_shown(path)}")
    return 0


def _annotations_allow(root: Path, args: argparse.Namespace) -> bool:
    """Check the project; False when the build must not go on."""
    config = load_config(root)
    project = analyse_project(config, options_from_config(config), quiet=args.quiet)
    analysis = project.analysis
    serious = [f for f in analysis.findings if not f.suppressed and f.severity in ("error", "warning")]
    if analysis.failures:
        print(format_findings(analysis.failures), file=sys.stderr)
        print(f"coroproj build: {len(analysis.failures)} unit(s) could not be analysed", file=sys.stderr)
        return False
    if not serious:
        return True
    print(format_findings(serious), file=sys.stderr)
    if args.backend == "cpc":
        print(f"coroproj build: {len(serious)} annotation finding(s): the CPS translation needs correct "
              "annotations (run `coroproj fix`, or --no-check to build anyway)", file=sys.stderr)
        return False
    print(f"coroproj build: note: {len(serious)} annotation finding(s); building with {args.backend} anyway",
          file=sys.stderr)
    return True


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
