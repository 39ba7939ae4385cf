"""Front-end: preprocess with the real compiler, parse GNU C with pycparser.

The result of the front-end is a pycparser AST in which every coroutine
annotation sits on the ``FuncDecl`` of the function type it belongs to (see
``annotations``), plus the text it was parsed from.
"""
