"""Front-end: preprocess with the real compiler, parse GNU C with pycparser.

The result of the front-end is a pycparser AST in which every coroutine
annotation sits on the ``FuncDecl`` of the function type it belongs to (see
``annotations``), plus the text it was parsed from.

Stages, one module each:

``preprocess``  ``cc -E`` with the unit's own flags and ``-D__COROPROJ__``
``lexer``       pycparser's lexer plus GCC's keywords and ``__attribute__``
``parser``      ``GnuCParser``: GNU declarations, statements, expressions
``gnu_ast``     nodes for the GNU constructs pycparser has none for
``placement``   moves each annotation to its function type (GCC's rule)
``generator``   ``GnuCGenerator``: C text back from the AST
``unit``        entry points: ``parse_file``, ``parse_text``,
                ``parse_unit_text`` and ``ParsedUnit``
"""
