"""SCons tool for projects checked (and optionally translated) by coroproj.

Load it with ``env = Environment(tools=["default", "coroproj"], variables=...)``
(or ``env.Tool("coroproj")``).  It adds:

- the ``BACKEND`` variable (``ucontext``, ``sigaltstack``, ``thread`` or
  ``cpc``); with ``cpc``, ``CC`` becomes coroproj's compiler driver, which
  translates coroutines to continuation-passing style and links the cpc
  runtime;
- ``env.CoroprojDatabase(path)``: SCons's own ``compilation_db`` tool writing
  ``path``, reachable through the ``compiledb`` alias (only the database is
  written, nothing is compiled) — ``coroproj check`` runs
  ``scons -Q compiledb`` on SCons trees;
- ``env.CoroprojCheckAlias(project_dir, database)``: the ``check`` alias,
  running ``coroproj check`` on that database;
- ``env.CoroprojCpcBackendObject(target)``: the object of coroproj's
  ``coroutine-cpc.c`` (the cpc backend of the QEMU-style backend interface
  in ``qemu/coroutine_int.h``), compiled natively — it is the runtime side
  of the translation, never translated itself.

The database always describes a stack-backend configuration: under ``cpc``
the compile commands would name the translating driver, which the checker
does not need (it wants the project's own C, before translation).
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
import sys
from typing import Any

import SCons.Errors
from SCons.Script import Alias, AlwaysBuild, EnumVariable, Variables

BACKENDS = ("ucontext", "sigaltstack", "thread", "cpc")
STACK_BACKENDS = BACKENDS[:3]
DEFAULT_BACKEND = "ucontext"
DATABASE_ALIAS = "compiledb"
CHECK_ALIAS = "check"


def backend_variables(variables: Variables | None = None) -> Variables:
    """The project's command-line variables with ``BACKEND`` added."""
    variables = variables if variables is not None else Variables(None)
    variables.Add(EnumVariable("BACKEND", "coroutine backend", DEFAULT_BACKEND, allowed_values=BACKENDS))
    return variables


def _python_module_command(*arguments: str) -> str:
    # The interpreter that runs SCons has coroproj importable (installed or on
    # PYTHONPATH); quoting keeps paths with spaces intact in the command line.
    return " ".join(shlex.quote(part) for part in (sys.executable, "-m", "coroproj", *arguments))


def _use_backend(env: Any, backend: str) -> None:
    """Configure ``env`` (usually a clone) for ``backend``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown coroutine backend {backend!r} (known: {', '.join(BACKENDS)})")
    env["BACKEND"] = backend
    native_cc = env.get("COROPROJ_NATIVE_CC") or env.subst("$CC")
    env["COROPROJ_NATIVE_CC"] = native_cc
    if backend == "cpc":
        # The real compiler behind the driver stays what CC was.
        env["ENV"]["COROPROJ_REAL_CC"] = native_cc
        # The translation digest as a variable of the command (the shell
        # just sets it): a changed translator or runtime changes every cpc
        # compile and link command, so SCons redoes them.
        digest = _cpc_runtime()[1]
        env["CC"] = f"COROPROJ_TRANSLATION={digest} " + _python_module_command("cc", "--backend", "cpc")
    else:
        env["CC"] = native_cc


def _coroproj_database(env: Any, path: str) -> Any:
    """Declare the compilation database at ``path`` and the ``compiledb`` alias for it."""
    database = env.CompilationDatabase(path)
    Alias(DATABASE_ALIAS, database)
    return database


def _coroproj_check_alias(env: Any, project_dir: str, database: Any) -> Any:
    """The ``check`` alias: ``coroproj check`` on the project with this database."""
    command = _python_module_command("check", project_dir, "--compile-commands", "${SOURCE.abspath}")
    action = env.Command("coroproj-check.phony", database, command)
    AlwaysBuild(action)
    return Alias(CHECK_ALIAS, action)


def _cpc_backend_object(env: Any, target: Any) -> Any:
    """``coroutine-cpc.c`` from the coroproj package, compiled by the real compiler."""
    runtime_dir = _cpc_runtime()[0]
    native = env.Clone(CC=env["COROPROJ_NATIVE_CC"])
    native.AppendUnique(CPPPATH=[runtime_dir])
    return native.Object(target, native.File(os.path.join(runtime_dir, "coroutine-cpc.c")))


@functools.cache
def _cpc_runtime() -> tuple[str, str]:
    """The cpc runtime's directory and the translation digest of the coroproj in use."""
    # Asked of a child interpreter: inside SCons, ``import coroproj`` finds
    # this tool module (SCons registers tools under their own names).
    program = (
        "from coroproj.runtime.cpc import RUNTIME_DIR, translation_digest\n"
        "print(RUNTIME_DIR); print(translation_digest())"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    if result.returncode != 0:
        raise SCons.Errors.UserError(f"BACKEND=cpc needs coroproj importable by {sys.executable}:\n"
                                     + result.stderr)
    runtime_dir, digest = result.stdout.split()
    return runtime_dir, digest


def generate(env: Any, **_kwargs: Any) -> None:
    variables = backend_variables()
    variables.Update(env)
    _use_backend(env, env["BACKEND"])
    if "CompilationDatabase" not in env["BUILDERS"]:
        env.Tool("compilation_db")
    env.AddMethod(_coroproj_database, "CoroprojDatabase")
    env.AddMethod(_coroproj_check_alias, "CoroprojCheckAlias")
    env.AddMethod(_use_backend, "CoroprojUseBackend")
    env.AddMethod(_cpc_backend_object, "CoroprojCpcBackendObject")
    env["COROPROJ_BACKENDS"] = BACKENDS
    env["COROPROJ_STACK_BACKENDS"] = STACK_BACKENDS


def exists(_env: Any) -> bool:
    return True
