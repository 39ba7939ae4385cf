"""Entry points of the front-end: text or file in, annotated AST out.

``parse_file`` preprocesses a translation unit with its own flags and
parses it; ``parse_text`` parses already preprocessed text.  Both return
an AST whose annotations sit on function types (see ``placement``) and
turn every problem into ``SourceError``/``UserError``, never a traceback.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pycparser import c_ast

from coroproj.errors import SourceError, SourceSpot
from coroproj.frontend.annotations import AttributeNames
from coroproj.frontend.markers import MarkedFile, files_of, merge_files
from coroproj.frontend.parser import GnuCParser, GnuParseError, deep_recursion
from coroproj.frontend.placement import (
    ExtraAnnotation,
    MisplacedAnnotation,
    Placer,
    place_annotations,
)
from coroproj.frontend.preprocess import preprocess, read_source_line
from coroproj.frontend.segments import SegmentCache, SegmentGroup, parse_in_segments

DEFAULT_NAMES = AttributeNames()


@dataclass
class ParsedUnit:
    """One parsed translation unit.

    ``text`` is the preprocessed text the AST was parsed from.
    ``extra_annotations``: annotations on function types reached through a
    typedef (``coroutine_fn Fn *p`` with ``typedef void Fn(void)``), which
    have no ``FuncDecl`` of their own in the AST.
    ``misplaced_annotations``: annotations written on something that is not
    a function type (a warning-level problem); removed from the AST.
    """

    path: Path
    ast: c_ast.FileAST
    text: str
    extra_annotations: list[ExtraAnnotation] = field(default_factory=list)
    misplaced_annotations: list[MisplacedAnnotation] = field(default_factory=list)
    # With a segment cache: the externals grouped by the segment they came from.
    segments: list[SegmentGroup] | None = None
    # The files its line markers name (``markers``): what the unit read.
    files: list[MarkedFile] = field(default_factory=list)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a unit is parsed.

    Parsing allocates hundreds of thousands of AST nodes that all stay alive,
    so every collection the allocations trigger scans a growing heap for
    nothing: pausing it makes parsing 20-50% faster on large units.  The
    AST holds no cycles worth collecting before the parse ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_text(text: str, filename: str, names: AttributeNames = DEFAULT_NAMES) -> c_ast.FileAST:
    """Parse preprocessed GNU C text (line markers name the files)."""
    return parse_unit_text(text, filename, names).ast


def parse_unit_text(
    text: str,
    filename: str,
    names: AttributeNames = DEFAULT_NAMES,
    *,
    cwd: str | Path | None = None,
    segments: SegmentCache | None = None,
) -> ParsedUnit:
    """Like ``parse_text`` but also returns the annotation side tables.

    With ``segments``, header text parsed for an earlier unit is reused
    (see ``segments``): the AST then shares nodes with other units' ASTs,
    so only callers that never modify it may pass a cache.
    """
    parser = GnuCParser(names)
    groups: list[SegmentGroup] | None = None
    files: list[MarkedFile] | None = None
    try:
        with deep_recursion(), _collector_paused():
            if segments is None:
                ast = parser.parse(text, filename)
                report = place_annotations(ast, parser.annotated_externals)
            else:
                placer = Placer()
                segmented = parse_in_segments(parser, placer, text, filename, segments)
                ast = c_ast.FileAST(segmented.externals)
                groups, files = segmented.groups, segmented.files
                report = placer.report
    except GnuParseError as error:
        raise _source_error(error.coord, error.message, error.filename, cwd) from None
    except RecursionError:
        raise _source_error(
            parser.last_coord(), "construct nested too deeply to parse", filename, cwd
        ) from None
    except (ValueError, AssertionError, AttributeError, TypeError, IndexError) as error:
        # pycparser signals some malformed input by failing an internal
        # check; report it at the last token read.
        detail = str(error) or type(error).__name__
        raise _source_error(
            parser.last_coord(), f"cannot parse this ({detail})", filename, cwd
        ) from None
    finally:
        parser.release()
    return ParsedUnit(
        path=Path(filename),
        ast=ast,
        text=text,
        extra_annotations=report.extra_annotations,
        misplaced_annotations=report.misplaced_annotations,
        segments=groups,
        files=merge_files([files_of(text)]) if files is None else files,
    )


def parse_file(
    path: str | Path,
    flags: Sequence[str] = (),
    *,
    compiler: str = "cc",
    names: AttributeNames = DEFAULT_NAMES,
    cwd: str | Path | None = None,
) -> ParsedUnit:
    """Preprocess ``path`` with ``flags`` (run in ``cwd``) and parse it."""
    text = preprocess(path, flags, compiler=compiler, cwd=cwd)
    unit = parse_unit_text(text, str(path), names, cwd=cwd)
    unit.path = Path(path)
    return unit


def _source_error(
    coord: object, message: str, filename: str, cwd: str | Path | None
) -> SourceError:
    file = getattr(coord, "file", None) or filename
    line = getattr(coord, "line", None) or 1
    column = getattr(coord, "column", None) or 0
    return SourceError(
        SourceSpot(file, line, column),
        message,
        "parse-error",
        source_line=read_source_line(file, line, cwd),
    )
