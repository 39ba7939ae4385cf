"""``coroproj fix``: turn findings into minimal textual edits of the original sources.

``locate`` finds a declaration's spot in the file the programmer wrote,
``plan`` decides the edits for each finding, ``apply`` writes them
atomically (and rolls them back), ``roundtrip`` measures how well fixes
recover annotations that were stripped from a tree.
"""
