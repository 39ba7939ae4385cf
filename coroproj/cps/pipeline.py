"""The CPS translator: validate, then normalize → box → split → lift → convert → emit.

``translate`` is the one entry point (``coroproj translate`` and ``coroproj
cc --backend cpc`` call it).  ``stage`` stops after a pass and returns that
pass's form of every coroutine function as readable C.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from pycparser import c_ast

from coroproj.cps.box import box
from coroproj.cps.common import Unit, build_file_env, reject
from coroproj.cps.convert import convert, is_coroutine_decl
from coroproj.cps.emit import emit
from coroproj.cps.ir import show_normal, show_split
from coroproj.cps.lift import lift
from coroproj.cps.normalize import normalize
from coroproj.cps.references import name_annotated_references
from coroproj.cps.split import split
from coroproj.cps.validate import validate
from coroproj.errors import UserError
from coroproj.runtime.cpc import NEED_CONT_FUNCTIONS, YIELD_FUNCTION

STAGES = ("normalize", "box", "split", "lift", "convert", "emit")


def translate(
    ast: c_ast.FileAST,
    *,
    source_name: str,
    stage: str | None = None,
    need_cont: Iterable[str] = NEED_CONT_FUNCTIONS,
    yield_name: str = YIELD_FUNCTION,
    extra_annotations: Sequence[object] = (),
) -> str:
    """The C text of ``ast`` after ``stage`` (default: the whole translated unit)."""
    stage = stage or "emit"
    if stage not in STAGES:
        raise UserError(f"coroproj translate: unknown stage '{stage}' (one of {', '.join(STAGES)})")
    unit = Unit(ast, source_name, frozenset(need_cont), yield_name)
    with _located(None, source_name):
        name_annotated_references(ast, extra_annotations)
        unit.env = build_file_env(ast)
        validate(unit)
    shown: list[str] = []
    translated: dict[int, str] = {}
    for ext in ast.ext:
        if not isinstance(ext, c_ast.FuncDef) or not is_coroutine_decl(ext.decl, unit):
            continue
        with _located(ext, source_name):
            text = _translate_function(unit, ext, stage)
        if stage == "emit":
            translated[id(ext)] = text
        else:
            shown.append(text)
    if stage != "emit":
        return "\n".join(shown)
    with _located(None, source_name):
        return emit(unit, translated)


@contextmanager
def _located(where: c_ast.Node | None, source_name: str) -> Iterator[None]:
    """Any failure that is not a diagnostic becomes one (exit 2, never a traceback)."""
    try:
        yield
    except UserError:
        raise
    except RecursionError:
        reject(where, "unsupported", "construct nested too deeply to translate", source_name)
    except Exception as error:  # an unforeseen shape of code: say where, not how
        name = getattr(getattr(where, "decl", None), "name", None)
        subject = f"'{name}'" if name else "this unit"
        reject(
            where,
            "internal",
            f"the CPS translator failed on {subject} ({type(error).__name__}: {error}); "
            "please report it with the preprocessed source",
            source_name,
        )


def _translate_function(unit: Unit, definition: c_ast.FuncDef, stage: str) -> str:
    function = normalize(unit, definition)
    if stage == "normalize":
        return show_normal(function)
    function = box(function, unit)
    if stage == "box":
        return show_normal(function)
    pieces = split(function)
    if stage == "split":
        return show_split(pieces)
    pieces = lift(pieces)
    if stage == "lift":
        return show_split(pieces)
    return convert(pieces, unit)
