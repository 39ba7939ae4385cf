"""Parse each header once per process, not once per unit that includes it.

Nine tenths of a real unit's preprocessed text is headers (glibc, glib, the
project's own), the same text in every unit.  Like a precompiled header,
this module parses such text once and reuses the result.

The text is cut into *segments* at the line markers that enter or leave an
included file (``# 12 "x.h" 1`` / ``# 40 "a.c" 2``).  A segment that starts
between two external declarations parses to the same declarations every
time it is entered with the same bindings of its identifiers at file scope
(typedef name or not: that is all a C parser's state holds), so the result
is kept under (the segment's text, those bindings) and later units reuse
the very same AST nodes.  Nothing downstream of the front end modifies an
AST it did not build itself, which is what makes sharing them safe; the CPS
translator, which does, never uses this cache.

A segment that ends inside a declaration (an ``#include`` inside a struct
or a function body) fails at its end; it is then parsed together with the
next one, and such merged pieces are not kept; nor is the unit's own text,
which no other unit has.  Annotation placement is done per segment too, so
its report and the typedefs it learns are kept with the segment and
replayed; where placement could depend on earlier typedefs (an annotated
segment), the key also holds whether each of its typedef names names a
function type.

What is kept is shrunk, being only read from then on: its lists become
tuples (``_compact``), and once a later pass (``summarize``) has kept in
the segment's annex what it derived from them, its function bodies are
dropped; a unit that must walk them again gets them back through
``SegmentGroup.restore``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import NamedTuple

from pycparser import c_ast

from coroproj.frontend.annotations import AttributeNames
from coroproj.frontend.markers import MarkedFile, files_of, include_cuts, merge_files
from coroproj.frontend.parser import GnuCParser, GnuParseError, deep_recursion
from coroproj.frontend.placement import ExtraAnnotation, MisplacedAnnotation, Placer
from coroproj.frontend.segment_store import SegmentStore, StoredSegment

_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")

# Characters of segment text kept per process; their ASTs, shrunk once kept
# (``_compact``, ``_drop_bodies``), take ~11 times as many bytes.
# QEMU's units each read 1-3 MB of text, mostly the same headers: 3 MB keeps
# those every unit includes, and a segment dropped comes back from the store
# (QEMU 9.2, -j 2: 5 MB took 579 MB at peak, 3 MB 515 MB, in the same time).
DEFAULT_BUDGET = 3_000_000

# A unit with more text than this that is not kept (its own, headers new to
# this process) drops the kept parses before it is parsed: its AST then takes
# the memory they held instead of piling on it (QEMU's disas/sparc.c, 1.9 MB
# of opcode tables; util/bufferiszero.c, 2.5 MB with the x86 intrinsics).
SHED_ABOVE = 1_000_000


@dataclass(frozen=True)
class _Shape:
    """What the text of a segment alone says (memoised by its hash)."""

    identifiers: tuple[str, ...]  # every identifier-like word it contains, sorted
    annotated: bool | None  # whether it holds annotations; None until parsed once
    files: tuple[MarkedFile, ...]  # the files its line markers name


@dataclass
class _Parsed:
    """One segment's parse, ready to be replayed into another unit."""

    items: list[c_ast.Node]
    bindings: list[tuple[str, bool]]  # file-scope bindings it made, in order
    annotated: list[int]  # indices of the items holding annotations
    typedefs: list[tuple[str, c_ast.Typedef]]  # typedefs placement learnt
    extra: list[ExtraAnnotation]
    misplaced: list[MisplacedAnnotation]
    size: int
    # Where later passes keep what they derived from these very nodes
    # (``summarize`` its records), so that it is dropped with them.
    annex: dict[object, object] = field(default_factory=dict)
    # Whether the function bodies were dropped (``_drop_bodies``).
    bodiless: bool = False


class SegmentGroup(NamedTuple):
    """The external declarations of a unit that came from one segment."""

    count: int
    # The kept segment's annex; None if its parse is not kept.
    annex: dict[object, object] | None
    # For a kept segment: its items with their function bodies, which a kept
    # parse no longer holds once a later pass keeps what it derived from them.
    restore: Callable[[], list[c_ast.Node]] | None = None


class SegmentCache:
    """The segments one process has parsed, least recently used dropped first."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.size = 0
        self.hits = 0
        self.misses = 0
        self.sheds = 0  # how often ``shed`` dropped everything
        self._shapes: dict[bytes, _Shape] = {}
        self._parsed: OrderedDict[tuple[object, ...], _Parsed] = OrderedDict()
        # Parses of earlier runs (``segment_store``): consulted on a miss, fed with fresh parses.
        self.store: SegmentStore | None = None

    def use_store(self, directory: Path | None) -> None:
        if directory is None:
            self.store = None
        elif self.store is None or self.store.root != Path(os.path.abspath(directory)):
            self.store = SegmentStore(directory)

    def shape(self, digest: bytes, text: str) -> _Shape:
        shape = self._shapes.get(digest)
        if shape is None:
            # Interned: the same names as the ASTs' (``lexer``), kept once.
            identifiers = tuple(sorted({intern(name) for name in _IDENTIFIER.findall(text)}))
            shape = _Shape(identifiers, None, files_of(text))
            self._shapes[digest] = shape
        return shape

    def learn_annotated(self, digest: bytes, annotated: bool) -> None:
        shape = self._shapes[digest]
        self._shapes[digest] = _Shape(shape.identifiers, annotated, shape.files)

    def kept_digests(self) -> set[bytes]:
        """The segments (their text's digests) with a parse kept here."""
        return {key[0] for key in self._parsed}  # type: ignore[misc]

    def shed(self) -> None:
        """Drop every kept parse (``SHED_ABOVE`` says why); the store still has them."""
        self.sheds += 1
        self._parsed.clear()
        self.size = 0

    def get(self, key: tuple[object, ...]) -> _Parsed | None:
        parsed = self._parsed.get(key)
        if parsed is None:
            self.misses += 1
            return None
        self.hits += 1
        self._parsed.move_to_end(key)
        return parsed

    def put(self, key: tuple[object, ...], parsed: _Parsed) -> bool:
        """Keep ``parsed`` (unless it alone exceeds the budget); whether it was kept."""
        if parsed.size > self.budget:
            return False
        self._parsed[key] = parsed
        self.size += parsed.size
        while self.size > self.budget:
            _, dropped = self._parsed.popitem(last=False)
            self.size -= dropped.size
        return key in self._parsed


def split_segments(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the segments of preprocessed ``text``, in order."""
    starts = [0, *(cut for cut in include_cuts(text) if cut)]
    ends = [*starts[1:], len(text)]
    return list(zip(starts, ends, strict=True))


class SegmentedUnit(NamedTuple):
    """A unit parsed segment by segment."""

    externals: list[c_ast.Node]
    groups: list[SegmentGroup]  # the externals grouped by the segment they came from
    files: list[MarkedFile]  # the files its line markers name (``markers.merge_files``)


def parse_in_segments(
    parser: GnuCParser,
    placer: Placer,
    text: str,
    filename: str,
    cache: SegmentCache,
) -> SegmentedUnit:
    """Parse a whole unit, reusing cached segments; places annotations as it goes.

    Raises what ``GnuCParser`` raises, at the same place a whole-text parse would.
    """
    return _UnitParse(parser, placer, text, filename, cache).run()


class _UnitParse:
    """One unit parsed segment by segment (``parse_in_segments``)."""

    def __init__(
        self, parser: GnuCParser, placer: Placer, text: str, filename: str, cache: SegmentCache
    ) -> None:
        self.parser, self.placer, self.text, self.filename, self.cache = parser, placer, text, filename, cache
        self.segments = split_segments(text)
        self.digests: list[bytes] = []
        self.shapes: list[_Shape] = []
        for start, end in self.segments:
            piece = text[start:end]
            digest = hashlib.blake2b(piece.encode("utf-8", "surrogateescape"), digest_size=20).digest()
            self.digests.append(digest)
            self.shapes.append(cache.shape(digest, piece))
        self.unit = SegmentedUnit([], [], merge_files(shape.files for shape in self.shapes))
        if self._text_not_kept() > SHED_ABOVE:
            cache.shed()

    def _text_not_kept(self) -> int:
        """How much of the unit's text the cache holds no parse of (its own text included)."""
        kept = self.cache.kept_digests()
        pieces = zip(self.segments, self.digests, strict=True)
        return sum(end - start for (start, end), digest in pieces if digest not in kept)

    def run(self) -> SegmentedUnit:
        self.parser.begin_unit()
        try:
            index = 0
            while index < len(self.segments):
                index += self._next(index)
        finally:
            if self.cache.store is not None:
                self.cache.store.flush()  # what was parsed before an error is right too
        return self.unit

    def _next(self, index: int) -> int:
        """Reuse or parse segment ``index`` (with the next ones if it is cut); how many it took."""
        parser, placer, cache = self.parser, self.placer, self.cache
        start, end = self.segments[index]
        digest, shape = self.digests[index], self.shapes[index]
        # The unit's own text is no other unit's: it is parsed, never kept.
        own = bool(shape.files) and shape.files[0][0] == self.filename
        first_file = self.filename if start == 0 else ""
        if not own:
            bindings = _bindings(shape, parser)
            key = _key(digest, shape, parser, placer, first_file, bindings)
            # A segment never parsed alone (its shape unknown) cannot be cached yet.
            reused = cache.get(key) if shape.annotated is not None else None
            if reused is None and cache.store is not None:
                reused = _recall(cache, cache.store, digest, shape, parser, placer, first_file, bindings)
            if reused is not None:
                if reused.annex and not reused.annotated and not reused.bodiless:
                    _drop_bodies(reused)
                _replay(reused, parser, placer, self.unit.externals)
                restore = functools.partial(
                    _with_bodies, reused, self.text, start, end, bindings, parser.names
                )
                self.unit.groups.append(SegmentGroup(len(reused.items), reused.annex, restore))
                return 1
        parsed, used = _parse_fresh(parser, placer, self.text, self.segments, index, self.filename)
        kept = False
        if used == 1 and not own:
            cache.learn_annotated(digest, bool(parsed.annotated))
            # An annotated segment's key holds its typedefs' function-ness, which
            # the key above only has once the segment is known to be annotated.
            if shape.annotated or not parsed.annotated:
                _compact(parsed.items)
                kept = cache.put(key, parsed)
                if cache.store is not None:
                    _keep_on_disk(cache.store, key, parsed, first_file, bindings)
        if kept:
            restore = functools.partial(list, parsed.items)
            self.unit.groups.append(SegmentGroup(len(parsed.items), parsed.annex, restore))
        else:
            self.unit.groups.append(SegmentGroup(len(parsed.items), None))
        self.unit.externals.extend(parsed.items)
        return used


def _bindings(shape: _Shape, parser: GnuCParser) -> tuple[tuple[str, bool], ...]:
    """The file-scope bindings of the segment's identifiers: all the parser state it depends on."""
    scope = parser.file_scope()
    return tuple((name, scope[name]) for name in shape.identifiers if name in scope)


def _functions(bindings: tuple[tuple[str, bool], ...], placer: Placer) -> tuple[str, ...]:
    """Its typedef names that name function types: what annotation placement depends on."""
    return tuple(name for name, is_type in bindings if is_type and placer.names_function(name))


def _key(
    digest: bytes,
    shape: _Shape,
    parser: GnuCParser,
    placer: Placer,
    first_file: str,
    bindings: tuple[tuple[str, bool], ...],
) -> tuple[object, ...]:
    """The cache key of a segment entered in the parser's current state."""
    functions = _functions(bindings, placer) if shape.annotated else ()
    # The annotation spellings decide what the parser marks: part of the key
    # for a process that analyses under several configurations (tests, -j 1).
    return (digest, parser.names, first_file, bindings, functions)


def _recall(
    cache: SegmentCache,
    store: SegmentStore,
    digest: bytes,
    shape: _Shape,
    parser: GnuCParser,
    placer: Placer,
    first_file: str,
    bindings: tuple[tuple[str, bool], ...],
) -> _Parsed | None:
    """The segment as an earlier run parsed it in the same state, or None."""
    stored = store.load(store.key(digest, parser.names, first_file, bindings))
    if stored is None:
        return None
    annotated = stored.functions is not None
    if shape.annotated is not None and shape.annotated != annotated:
        return None
    functions = _functions(bindings, placer) if annotated else ()
    if annotated and functions != stored.functions:
        return None  # placement would differ: parse it again
    cache.learn_annotated(digest, annotated)
    parsed = _Parsed(
        items=stored.items,  # type: ignore[arg-type]
        bindings=stored.bindings,
        annotated=stored.annotated,
        typedefs=stored.typedefs,  # type: ignore[arg-type]
        extra=stored.extra,  # type: ignore[arg-type]
        misplaced=stored.misplaced,  # type: ignore[arg-type]
        size=stored.size,
    )
    cache.put((digest, parser.names, first_file, bindings, functions), parsed)
    return parsed


def _keep_on_disk(
    store: SegmentStore,
    key: tuple[object, ...],
    parsed: _Parsed,
    first_file: str,
    bindings: tuple[tuple[str, bool], ...],
) -> None:
    digest, names, functions = key[0], key[1], key[4]
    assert isinstance(digest, bytes) and isinstance(functions, tuple)
    store_key = store.key(digest, names, first_file, bindings)  # type: ignore[arg-type]
    if store.has(store_key):
        return
    store.save(store_key, StoredSegment(
        items=list(parsed.items),
        bindings=parsed.bindings,
        annotated=parsed.annotated,
        typedefs=list(parsed.typedefs),
        extra=list(parsed.extra),
        misplaced=list(parsed.misplaced),
        size=parsed.size,
        functions=functions if parsed.annotated else None,
    ))


def _parse_fresh(
    parser: GnuCParser,
    placer: Placer,
    text: str,
    segments: list[tuple[int, int]],
    index: int,
    filename: str,
) -> tuple[_Parsed, int]:
    """Parse segment ``index``, joined with the next ones while it ends mid-declaration."""
    start = segments[index][0]
    used = 1
    while True:
        end = segments[index + used - 1][1]
        saved_scope = dict(parser.file_scope())
        saved_annotated = set(parser.annotated_externals)
        parser.file_scope_log = bindings = []
        try:
            items = parser.parse_piece(text[start:end], filename)
        except GnuParseError:
            if index + used < len(segments) and parser.lexed_to_end():
                # Cut inside a declaration: undo the attempt, take one more segment.
                parser.restore_file_scope(saved_scope, saved_annotated)
                used += 1
                continue
            raise
        finally:
            parser.file_scope_log = None
        break
    annotated = {id(item) for item in items} & parser.annotated_externals
    report = placer.report
    extra_before, misplaced_before = len(report.extra_annotations), len(report.misplaced_annotations)
    placer.typedef_log = typedefs = []
    placer.place(items, annotated)
    placer.typedef_log = None
    parsed = _Parsed(
        items=items,
        bindings=bindings,
        annotated=[i for i, item in enumerate(items) if id(item) in annotated],
        typedefs=typedefs,
        extra=report.extra_annotations[extra_before:],
        misplaced=report.misplaced_annotations[misplaced_before:],
        size=end - start,
    )
    return parsed, used


def _drop_bodies(parsed: _Parsed) -> None:
    """Drop the function bodies of a kept parse (a third of a header's nodes).

    Called once a later pass has kept what it derived from them in the
    annex: the bodies of a header's ``static inline`` functions are walked
    once per process, not once per includer.  A pass that must walk them
    again (its kept walk does not hold in a unit) gets them back from
    ``_with_bodies``.  Only unannotated parses: placement never changed them.
    """
    parsed.items = [_with_body(item, None) for item in parsed.items]
    parsed.bodiless = True


def _with_bodies(
    parsed: _Parsed,
    text: str,
    start: int,
    end: int,
    bindings: tuple[tuple[str, bool], ...],
    names: AttributeNames,
) -> list[c_ast.Node]:
    """The items of a kept parse with their function bodies, parsed again if they were dropped.

    The segment (``text[start:end]``) parses again to the same declarations
    in the same bindings (its key); each body is put back under the kept
    declaration itself, whose identity what was derived from it depends on.
    """
    if not parsed.bodiless:
        return list(parsed.items)
    parser = GnuCParser(names)
    parser.begin_unit()
    parser.bind_at_file_scope(list(bindings))
    try:
        with deep_recursion():
            fresh = parser.parse_piece(text[start:end], "")
    finally:
        parser.release()
    return [
        _with_body(kept, again.body) if type(kept) is c_ast.FuncDef else kept
        for kept, again in zip(parsed.items, fresh, strict=True)
    ]


def _with_body(item: c_ast.Node, body: c_ast.Node | None) -> c_ast.Node:
    """A function definition ``item`` with ``body``; any other item as it is."""
    if type(item) is not c_ast.FuncDef:
        return item
    return c_ast.FuncDef(item.decl, item.param_decls, body, item.coord)


def _compact(items: list[c_ast.Node]) -> None:
    """Make a kept parse smaller: from here on it is only read.

    Every node carries lists (a declaration's qualifiers, storage classes,
    alignment, attributes; the words of a type name; parameters): a fifth
    of a kept parse's memory and of its pickle.  Each becomes a tuple, the
    empty ones the one empty tuple and a type name's words one tuple per
    spelling (``unsigned long``).
    """
    spellings = _SPELLINGS
    stack = list(items)
    while stack:
        node = stack.pop()
        for name in _child_slots(type(node)):
            value = getattr(node, name)
            if type(value) is list:
                if type(node) is c_ast.IdentifierType:
                    words = tuple(value)
                    setattr(node, name, spellings.setdefault(words, words))
                    continue
                setattr(node, name, tuple(value))
                stack.extend(item for item in value if isinstance(item, c_ast.Node))
            elif isinstance(value, c_ast.Node):
                stack.append(value)


# The words of the type names of kept parses, one tuple per spelling.
_SPELLINGS: dict[tuple[str, ...], tuple[str, ...]] = {}


@functools.cache
def _child_slots(node: type[c_ast.Node]) -> tuple[str, ...]:
    return tuple(name for name in node.__slots__ if name not in ("coord", "__weakref__"))


def _replay(parsed: _Parsed, parser: GnuCParser, placer: Placer, externals: list[c_ast.Node]) -> None:
    parser.bind_at_file_scope(parsed.bindings)
    parser.annotated_externals.update(id(parsed.items[i]) for i in parsed.annotated)
    for name, typedef in parsed.typedefs:
        placer.typedefs[name] = typedef
    placer.report.extra_annotations.extend(parsed.extra)
    placer.report.misplaced_annotations.extend(parsed.misplaced)
    externals.extend(parsed.items)
