"""The CPS translator: coroutine functions become continuation-passing C.

One module per pass (CPS.md): ``validate`` (reject what cannot be
translated), ``normalize``, ``box``, ``split``, ``lift``, ``convert``,
``emit``; ``pipeline.translate`` runs them.  ``ir`` holds the intermediate
forms, ``common`` what the passes share.
"""
