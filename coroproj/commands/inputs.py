"""What every analysing command (check, why, graph, fix, report) takes as input.

Two modes:
- files named with ``--`` compiler flags, or files outside any project with
  a compile database: those files are analysed together as one program;
- otherwise the whole project around the current directory (or the given
  paths) is analysed through its compile database, and the paths only
  restrict what is reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from coroproj.analysis.pipeline import (
    DEFAULT_ROOTS,
    Analysis,
    AnalysisOptions,
    analyse,
    failure_finding,
    summarize_unit,
)
from coroproj.analysis.summarize import DEFAULT_HYBRID_PREDICATES
from coroproj.errors import SourceError, UserError
from coroproj.frontend.annotations import AttributeNames
from coroproj.project.analyse import PreparedProject, ProjectAnalysis, analyse_project, prepare_project
from coroproj.project.compile_db import load_compile_database
from coroproj.project.config import Config, load_config
from coroproj.project.discover import find_existing_database, find_project_root
from coroproj.project.overlay import HeaderOverlay, build_overlay, temporary_overlay_root


def add_input_arguments(parser: argparse.ArgumentParser, *, paths_help: str) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help=paths_help)
    group = parser.add_argument_group("annotations")
    group.add_argument("--coroutine-attr", action="append", metavar="NAME",
                       help="attribute meaning coroutine function (repeatable; default coroutine_fn, cps)")
    group.add_argument("--blocking-attr", action="append", metavar="NAME",
                       help="attribute meaning blocking function (default blocking_fn, no_coroutine_fn)")
    group.add_argument("--mixed-attr", action="append", metavar="NAME",
                       help="attribute meaning mixed function (default coroutine_mixed_fn)")
    group.add_argument("--root", action="append", metavar="FUNCTION",
                       help=f"coroutine primitive trusted as a root (default {', '.join(DEFAULT_ROOTS)})")
    group.add_argument("--hybrid-predicate", action="append", metavar="FUNCTION",
                       help="function telling whether it runs in a coroutine (default qemu_in_coroutine)")
    group.add_argument("--compiler", default=None,
                       help="compiler used to preprocess (default: each compile database entry's own, "
                       "else cc); with a database it replaces every entry's compiler")
    group.add_argument("-q", "--quiet", action="store_true", help="no summary table, no progress bar")
    project = parser.add_argument_group("project")
    project.add_argument("-p", "--build-dir", metavar="BUILD_DIR", type=Path,
                         help="folder holding compile_commands.json")
    project.add_argument("--compile-commands", metavar="FILE", type=Path,
                         help="the compile database to use")
    project.add_argument("--cache-dir", metavar="DIR", type=Path,
                         help="where unit summaries are kept (default PROJECT/.coroproj)")
    project.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                         help="parallel workers (default: all cores)")


def options_from_args(args: argparse.Namespace, base: AnalysisOptions | None = None) -> AnalysisOptions:
    """Command-line flags override ``base`` (the project's configuration)."""
    base = base or AnalysisOptions()
    names = base.names
    names = AttributeNames(
        coroutine=tuple(args.coroutine_attr or names.coroutine),
        blocking=tuple(args.blocking_attr or names.blocking),
        mixed=tuple(args.mixed_attr or names.mixed),
    )
    return AnalysisOptions(
        names=names,
        roots=tuple(args.root or base.roots),
        hybrid_predicates=tuple(args.hybrid_predicate or base.hybrid_predicates or
                                DEFAULT_HYBRID_PREDICATES),
        severity=base.severity,
        compiler=args.compiler or base.compiler,
    )


def analyse_files(paths: list[str], flags: list[str], options: AnalysisOptions) -> Analysis:
    """Analyse the named files together as one program."""
    summaries, failures = [], []
    for path in paths:
        if not Path(path).is_file():
            raise UserError(f"coroproj: {path}: no such file")
    # No cache directory in files mode: the annotation overlay lives for this run.
    with temporary_overlay_root() as overlay_root:
        roots = [Path.cwd(), Path(os.path.commonpath([os.path.abspath(p) for p in paths]))]
        try:
            overlay = build_overlay([flags], options.names, roots=roots, overlay_root=Path(overlay_root))
        except OSError:
            overlay = HeaderOverlay()
        unit_flags = overlay.flags_for(flags)
        for path in paths:
            try:
                summaries.append(summarize_unit(path, unit_flags, options))
            except SourceError as error:
                failures.append(failure_finding(error))
    return analyse(summaries, options, failures)


@dataclass
class Inputs:
    """The analysis a command works on, and where it came from."""

    analysis: Analysis
    options: AnalysisOptions
    project: ProjectAnalysis | None = None  # None in files mode
    restrict: list[Path] | None = None  # report only findings under these paths


def analysis_from_args(args: argparse.Namespace) -> tuple[Analysis, AnalysisOptions]:
    inputs = inputs_from_args(args)
    return inputs.analysis, inputs.options


@dataclass
class ProjectRequest:
    """What project mode will analyse, resolved from the command line (nothing read yet)."""

    config: Config
    options: AnalysisOptions
    prepared: PreparedProject
    restrict: list[Path] | None  # report only findings under these paths


def inputs_from_args(args: argparse.Namespace) -> Inputs:
    """Files mode or project mode (see the module docstring)."""
    request = project_request(args)
    if isinstance(request, Inputs):
        return request
    return analyse_request(request, args)


def project_request(args: argparse.Namespace) -> ProjectRequest | Inputs:
    """The project the arguments name, or the finished analysis in files mode."""
    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not path.exists():
            raise UserError(f"coroproj: {path}: no such file or directory")
    explicit_database = args.build_dir is not None or args.compile_commands is not None
    all_files = bool(paths) and all(p.is_file() for p in paths)
    if args.compiler_flags and not explicit_database:
        return _files_mode(args, paths)
    root = find_project_root(paths[0] if paths else Path.cwd())
    if all_files and not explicit_database and not _in_existing_database(root, paths):
        # Quick check of named files outside a configured build: no generation.
        return _files_mode(args, paths, load_config(root))
    config = load_config(root)
    if args.cache_dir is not None:
        config = dataclasses.replace(config, cache_dir=args.cache_dir.resolve())
    options = options_from_args(args, options_from_config(config))
    prepared = prepare_project(
        config,
        options,
        database=args.compile_commands.resolve() if args.compile_commands else None,
        build_dir=args.build_dir.resolve() if args.build_dir else None,
    )
    warning = outside_project_warning(prepared)
    if warning:
        print(warning, file=sys.stderr)
    return ProjectRequest(config, options, prepared, [p.resolve() for p in paths] or None)


def outside_project_warning(prepared: PreparedProject) -> str | None:
    """A warning when the database's units are not the project's (a copied tree, say)."""
    root = prepared.config.root
    outside = [job.file for job in prepared.jobs if not _under(str(job.file), [root])]
    if not outside or len(outside) < len(prepared.jobs) / 2:
        return None
    where = os.path.commonpath([str(file) for file in outside])
    return (f"coroproj: warning: {len(outside)} of {len(prepared.jobs)} units of {prepared.database} "
            f"lie outside the project {root}: they point to {where}")


def analyse_request(request: ProjectRequest, args: argparse.Namespace) -> Inputs:
    project = analyse_project(
        request.config,
        request.options,
        workers=args.jobs,
        quiet=args.quiet,
        prepared=request.prepared,
    )
    analysis = project.analysis
    if request.restrict:
        analysis = dataclasses.replace(
            analysis, findings=[f for f in analysis.findings if _under(f.file, request.restrict)]
        )
    return Inputs(analysis, request.options, project, request.restrict)


def _files_mode(args: argparse.Namespace, paths: list[Path], config: Config | None = None) -> Inputs:
    if not paths:
        raise UserError("coroproj: name the C files to analyse before the compiler flags")
    options = options_from_args(args, options_from_config(config) if config else None)
    return Inputs(analyse_files([str(p) for p in paths], args.compiler_flags, options), options)


def options_from_config(config: Config) -> AnalysisOptions:
    severity = {check: level for check, level in config.severity}
    return AnalysisOptions(
        names=config.attribute_names(),
        roots=config.roots,
        hybrid_predicates=config.hybrid_predicates,
        severity=severity,
        compiler=config.compiler,
    )


def _in_existing_database(root: Path, paths: list[Path]) -> bool:
    database = find_existing_database(root)
    if database is None:
        return False
    named = {p.resolve() for p in paths}
    return any(job.file in named for job in load_compile_database(database).jobs)


def _under(file: str, roots: list[Path]) -> bool:
    path = Path(file).resolve()
    return any(path == root or root in path.parents for root in roots)
