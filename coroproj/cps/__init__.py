"""The CPS translator: coroutine functions become continuation-passing C.

One module per pass (CPS.md): ``references`` (annotations written on a
typedef-name reference get a typedef of their own), ``validate`` (reject
what cannot be translated), ``normalize``, ``box``, ``split``, ``lift``,
``convert``, ``emit``; ``pipeline.translate`` runs them.  ``ir`` holds the
intermediate forms, ``common`` what the passes share.  docs/cps-translator.md
walks a function through every pass.
"""
