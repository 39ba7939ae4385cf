"""``coroproj report``: statistics of a run, their history, and regressions.

``statistics`` counts (the paper's Table 1 and more), ``store`` keeps runs
in SQLite, ``compare`` matches a run against its baseline by fingerprint,
``revision`` checks a git revision out on the side, ``report`` is what is
rendered by ``markdown`` and ``html`` (and as JSON).
"""
