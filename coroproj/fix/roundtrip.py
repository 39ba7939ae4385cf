"""Measure ``coroproj fix`` by a round trip: strip annotations, fix, compare.

On a tree the programmer annotated by hand, every ``coroutine_fn`` on a
function declaration is removed except those the inference cannot recover
by itself: the runtime primitives (configured roots) and functions declared
but not defined in the tree (their annotation is the contract).  The
typedefs and struct members keep theirs (they are not function
declarations).  Then ``coroproj fix`` runs, and the annotations it wrote
are compared with the original ones declaration by declaration:

- recall: share of the stripped annotations that came back;
- precision: share of the annotations fix wrote that were in the original.

Edits never add or remove lines, so a declaration is known by its file,
line and name throughout.  Works in place: run it on a copy.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from coroproj.analysis.inference import COROUTINE
from coroproj.analysis.pipeline import Analysis
from coroproj.cli import build_parser, main
from coroproj.commands.inputs import inputs_from_args
from coroproj.fix.apply import Transaction, edited_texts
from coroproj.fix.locate import SourceText, Unlocatable, annotation_word, function_declarator, removal_span
from coroproj.fix.plan import Edit, Plan
from coroproj.frontend.annotations import AttributeNames

Key = tuple[str, int, str]  # (file relative to the root, line, function name)


@dataclass
class RoundTrip:
    original: set[Key] = field(default_factory=set)  # annotated function declarations before
    kept: set[Key] = field(default_factory=set)  # not stripped: primitives, defined elsewhere
    stripped: set[Key] = field(default_factory=set)
    unstrippable: list[str] = field(default_factory=list)  # annotations not written as a macro
    after: set[Key] = field(default_factory=set)  # annotated function declarations after the fix
    fix_status: int = 0

    @property
    def written(self) -> set[Key]:
        """What fix wrote: annotated after, not before the fix."""
        return self.after - (self.original - self.stripped)

    @property
    def recovered(self) -> set[Key]:
        return self.written & self.stripped

    @property
    def missed(self) -> set[Key]:
        return self.stripped - self.after

    @property
    def extra(self) -> set[Key]:
        return self.written - self.stripped

    @property
    def recall(self) -> float:
        return len(self.recovered) / len(self.stripped) if self.stripped else 1.0

    @property
    def precision(self) -> float:
        return len(self.recovered) / len(self.written) if self.written else 1.0

    def summary(self) -> str:
        return (f"stripped {len(self.stripped)} of {len(self.original)} coroutine_fn annotations "
                f"(kept {len(self.kept)}), fix wrote {len(self.written)}: "
                f"precision {self.precision:.1%}, recall {self.recall:.1%}")


def annotated(analysis: Analysis, root: Path) -> dict[Key, tuple[str, bool]]:
    """Function declarations in the tree written with a coroutine annotation -> (symbol, kept)."""
    program = analysis.program
    result: dict[Key, tuple[str, bool]] = {}
    for function in program.functions.values():
        if function.indirect:
            continue
        keep = function.name in program.configured_roots or not function.definitions
        for declaration in (*function.definitions, *function.prototypes):
            if COROUTINE not in declaration.kinds:
                continue
            relative = os.path.relpath(os.path.realpath(declaration.file), root)
            if relative.startswith(".."):
                continue
            result[(relative, declaration.line, declaration.name)] = (function.symbol, keep)
    return result


def strip_plan(analysis: Analysis, names: AttributeNames, root: Path, result: RoundTrip) -> Plan:
    """Removal edits for every annotated declaration that is not kept."""
    plan = Plan()
    for key, (_symbol, keep) in sorted(annotated(analysis, root).items()):
        result.original.add(key)
        if keep:
            result.kept.add(key)
            continue
        relative, line, name = key
        path = root / relative
        source = plan.sources.get(path) or SourceText.read(path)
        plan.sources[path] = source
        try:
            word = annotation_word(source, function_declarator(source, line, name), names.coroutine)
        except Unlocatable as problem:
            word, why = None, str(problem)
        else:
            why = "not written before the name as a macro"
        if word is None:
            result.kept.add(key)
            result.unstrippable.append(f"{relative}:{line}: '{name}': {why}")
            continue
        start, end = removal_span(source, word)
        plan.edits.append(Edit(path, start, end, "", line, f"strip the annotation of '{name}'"))
        result.stripped.add(key)
    return plan


def _analyse(root: Path, jobs: int) -> tuple[Analysis, AttributeNames]:
    args = build_parser().parse_args(["check", "-q", "-j", str(jobs), str(root)])
    args.compiler_flags = []
    inputs = inputs_from_args(args)
    if inputs.analysis.failures:
        first = inputs.analysis.failures[0]
        raise RuntimeError(f"{first.file}:{first.line}: {first.message}")
    return inputs.analysis, inputs.options.names


def round_trip(root: Path, *, jobs: int = 1, fix_arguments: tuple[str, ...] = ()) -> RoundTrip:
    """Strip, fix and compare, in place in the tree at ``root``."""
    root = Path(os.path.realpath(root))
    result = RoundTrip()
    analysis, names = _analyse(root, jobs)
    plan = strip_plan(analysis, names, root, result)
    Transaction().write(edited_texts(plan.sources, plan.edits), plan.sources)
    result.fix_status = main(["fix", "-q", "--yes", "-j", str(jobs), *fix_arguments, str(root)])
    after, _names = _analyse(root, jobs)
    result.after = set(annotated(after, root))
    return result


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Round trip of coroproj fix on a COPY of a tree")
    parser.add_argument("root", type=Path)
    parser.add_argument("-j", "--jobs", type=int, default=1)
    return parser


if __name__ == "__main__":
    options = _arguments().parse_args()
    outcome = round_trip(options.root, jobs=options.jobs)
    print(outcome.summary())
    for key in sorted(outcome.missed):
        print(f"missed: {key[0]}:{key[1]}: {key[2]}")
    for key in sorted(outcome.extra):
        print(f"extra: {key[0]}:{key[1]}: {key[2]}")
    raise SystemExit(0 if outcome.precision == outcome.recall == 1.0 else 1)
