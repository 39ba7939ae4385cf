"""Driving compilers and builds: the ``coroproj cc`` drop-in compiler and
``coroproj build`` for SCons and Make trees."""
