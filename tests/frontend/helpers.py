"""Shared helpers of the front-end tests: parse snippets, find nodes."""

from __future__ import annotations

import subprocess

from pycparser import c_ast

from coroproj.frontend.annotations import AttributeNames, Kind, kinds_of
from coroproj.frontend.generator import GnuCGenerator
from coroproj.frontend.unit import ParsedUnit, parse_unit_text

PRELUDE = """\
typedef struct Coroutine Coroutine;
typedef struct BlockDriverState BlockDriverState;
typedef long int64_t;
"""

COROUTINE = frozenset({Kind.COROUTINE})
BLOCKING = frozenset({Kind.BLOCKING})
MIXED = frozenset({Kind.MIXED})
NONE: frozenset[Kind] = frozenset()


def parse(source: str, names: AttributeNames | None = None) -> ParsedUnit:
    """Parse a snippet written with ``__attribute__`` spelled out."""
    return parse_unit_text(PRELUDE + source, "snippet.c", names or AttributeNames())


def declarations(unit: ParsedUnit, name: str) -> list[c_ast.Node]:
    """Every Decl/Typedef (also struct members and parameters) named ``name``."""
    found = []
    stack: list[c_ast.Node] = [unit.ast]
    while stack:
        node = stack.pop()
        if isinstance(node, (c_ast.Decl, c_ast.Typedef)) and node.name == name:
            found.append(node)
        stack.extend(node)
    return found


def declaration(unit: ParsedUnit, name: str) -> c_ast.Node:
    found = declarations(unit, name)
    assert len(found) == 1, f"{len(found)} declarations of {name}"
    return found[0]


def chain(node: c_ast.Node) -> list[c_ast.Node]:
    """The derived types of a declaration, from the name to the base."""
    links = []
    link = node.type
    while isinstance(link, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.FuncDecl)):
        links.append(link)
        link = link.type
    return links


def function_kinds(node: c_ast.Node) -> list[frozenset[Kind]]:
    """Kinds of each FuncDecl in a declaration's chain, name first."""
    return [kinds_of(link) for link in chain(node) if isinstance(link, c_ast.FuncDecl)]


def all_nodes(root: c_ast.Node) -> list[c_ast.Node]:
    nodes = []
    stack = [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node)
    return nodes


def regenerate(unit: ParsedUnit, *, annotations: bool = True) -> str:
    return GnuCGenerator(annotations=annotations).visit(unit.ast)


def gcc_accepts(text: str) -> tuple[bool, str]:
    """Does ``gcc -fsyntax-only`` (gnu11) accept ``text``?  (ok, messages)"""
    completed = subprocess.run(
        ["gcc", "-std=gnu11", "-fsyntax-only", "-Wno-attributes", "-x", "c", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.returncode == 0, completed.stderr
