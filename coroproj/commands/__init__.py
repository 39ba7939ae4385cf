"""One module per sub-command of the ``coroproj`` command line."""
