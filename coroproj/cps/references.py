"""Before the passes: annotations written on a typedef-name reference get a name.

``typedef int Fn(int); coroutine_fn Fn *p;`` annotates a fresh function type
that the AST has no node for (the front-end records it against the
reference, see ``annotations.annotate_reference``).  The passes copy and
rewrite types freely, so instead of carrying that side table along, every
such reference is renamed to a synthetic typedef of the annotated function
type, declared right after ``Fn``:

    typedef int Fn(int);
    typedef int coroutine_fn Fn__coroutine_fn(int);   // added
    Fn__coroutine_fn *p;                               // was: coroutine_fn Fn *p

after which the reference is an ordinary coroutine function type
everywhere (and becomes ``cpc_function`` like any other).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from pycparser import c_ast

from coroproj.cps.common import innermost_typedecl, reject, walk
from coroproj.frontend.annotations import Kind, annotate


def name_annotated_references(ast: c_ast.FileAST, extra_annotations: Sequence[object]) -> None:
    created: dict[str, str] = {}
    for extra in extra_annotations:
        if getattr(extra, "kind", None) is not Kind.COROUTINE:
            continue
        declaration = getattr(extra, "declaration", None)
        base = innermost_typedecl(getattr(declaration, "type", None))
        names = getattr(getattr(base, "type", None), "names", None)
        if base is None or not names or len(names) != 1:
            reject(
                declaration,
                "typedef-annotation",
                "coroutine_fn on a function type reached through __typeof__ is not supported by the "
                "translator; annotate the function type itself",
            )
        typedef_name = names[0]
        synthetic = created.get(typedef_name)
        if synthetic is None:
            synthetic = _declare_annotated_twin(ast, typedef_name, declaration)
            created[typedef_name] = synthetic
        base.type = c_ast.IdentifierType([synthetic], base.type.coord)


def _declare_annotated_twin(ast: c_ast.FileAST, typedef_name: str, use: c_ast.Node) -> str:
    for index, ext in enumerate(ast.ext):
        if isinstance(ext, c_ast.Typedef) and ext.name == typedef_name:
            twin_name = f"{typedef_name}__coroutine_fn"
            twin = copy.deepcopy(ext)
            twin.name = twin_name
            base = innermost_typedecl(twin.type)
            if base is not None:
                base.declname = twin_name
            function = next((node for node in walk(twin.type) if isinstance(node, c_ast.FuncDecl)), None)
            if function is None:
                break
            annotate(function, Kind.COROUTINE, ext.coord)
            ast.ext.insert(index + 1, twin)
            return twin_name
    reject(
        use,
        "typedef-annotation",
        f"coroutine_fn on the function type named by '{typedef_name}', which is not a file-scope "
        "typedef of a function type; annotate the typedef itself",
    )
