"""``coroproj cc --backend cpc``: a drop-in C compiler that compiles coroutines to CPS.

For every C source on the command line: preprocess it with the given flags
(plus ``-D__COROPROJ__``, so the annotation macros become attributes),
translate it, and compile the translated text with the real compiler and
the same flags.  When the command links, the continuation runtime is
compiled once (cached next to this package's sources would need write
access, so it goes to a per-user cache keyed by the compiler and flags) and
added to the link.  Everything else (objects, archives, libraries,
assembly) passes through untouched, so ``make CC="coroproj cc --backend
cpc"`` and SCons's ``CC`` work unchanged.  The runtime's own sources (in
``--print-runtime-dir``) are compiled untranslated.

With any other backend the driver just runs the real compiler: the stack
backends need no translation.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from coroproj.driver.gcc_args import GccCommand, parse_gcc_command
from coroproj.errors import SourceError, UserError

BACKENDS = ("cpc", "ucontext", "sigaltstack", "thread")
RUNTIME_DEFAULT_OPTIMIZATION = "-O2"


def real_compiler() -> list[str]:
    """The compiler to drive: $COROPROJ_REAL_CC, else cc."""
    return shlex.split(os.environ.get("COROPROJ_REAL_CC", "cc")) or ["cc"]


PRINT_RUNTIME_DIR = "--print-runtime-dir"
"""``coroproj cc --print-runtime-dir``: where the runtime's C sources are (for
a Makefile: ``$(shell $(CC) --print-runtime-dir)/coroutine-cpc.c``)."""


def run_cc(argv: list[str], backend: str) -> int:
    if argv == [PRINT_RUNTIME_DIR]:
        print(runtime_dir())
        return 0
    compiler = real_compiler()
    if backend != "cpc":
        return subprocess.run([*compiler, *argv]).returncode
    command = parse_gcc_command(argv)
    if not command.sources and not any(_is_input_file(a) for a in command.arguments):
        # No input at all (or only --version, -print-*...): the compiler's own answer.
        return subprocess.run([*compiler, *argv]).returncode
    if not command.sources or command.mode == "preprocess":
        # Nothing to translate: objects, libraries, assembly, or plain -E.
        return subprocess.run([*compiler, *argv, *_runtime_link_inputs(command, compiler)]).returncode
    if command.output and len(command.sources) > 1 and command.compile_only:
        raise UserError("coroproj cc: cannot use -o with -c or -S and several source files")
    with tempfile.TemporaryDirectory(prefix="coroproj-cc-") as scratch:
        objects: list[str] = []
        for source in command.sources:
            # The runtime's own C (coroutine-cpc.c) is the native side of the
            # calling convention: compiled as is, never translated.
            is_runtime = Path(source).resolve().parent == runtime_dir()
            if command.compile_only:
                output = command.output or _default_output(source, command.mode)
                target = output
            else:
                output = str(Path(scratch) / (Path(source).stem + f".{len(objects)}.o"))
                target = Path(source).stem + ".o"
            translated = (
                Path(source) if is_runtime else _translate(source, command, compiler, Path(scratch), target)
            )
            mode_flag = "-S" if command.mode == "assemble" else "-c"
            compile_args = [a for a in command.compile_arguments() if a not in ("-c", "-S")]
            status = subprocess.run(
                [*compiler, *compile_args, "-I", str(runtime_dir()), mode_flag,
                 "-x", "c", str(translated), "-x", "none", "-o", output]
            ).returncode
            if status != 0:
                return status
            objects.append(output)
        if command.compile_only:
            return 0
        link = [*compiler, *command.link_arguments(objects), *_runtime_link_inputs(command, compiler)]
        if command.output:
            link += ["-o", command.output]
        return subprocess.run(link).returncode


def _is_input_file(argument: str) -> bool:
    return not argument.startswith("-") and Path(argument).suffix in (".o", ".a", ".so", ".lo", ".s", ".S")


def _default_output(source: str, mode: str) -> str:
    return Path(source).stem + (".s" if mode == "assemble" else ".o")


def _translate(source: str, command: GccCommand, compiler: list[str], scratch: Path, target: str) -> Path:
    """Preprocess and translate one source; the C text lands in ``scratch``.

    ``target`` is the object the command produces for it: the name of the
    rule a ``-MD``/``-MMD`` dependency file describes.
    """
    from coroproj.cps.pipeline import translate
    from coroproj.frontend.preprocess import preprocess
    from coroproj.frontend.unit import parse_unit_text

    flags = command.preprocess_arguments()
    dependency_flags_present = any(a.startswith("-M") for a in flags)
    if dependency_flags_present:
        # Let the real preprocessor write the .d file for the ORIGINAL source.
        names = _implicit_dependency_names(flags, target)
        deps = subprocess.run(
            [*compiler, *[a for a in flags if a not in ("-c", "-S")], *names, "-E", source, "-o", os.devnull]
        )
        if deps.returncode != 0:
            raise UserError(f"coroproj cc: preprocessing {source} failed")
        flags = [a for a in GccCommand(arguments=flags).compile_arguments()]
    text = preprocess(source, [a for a in flags if a not in ("-c", "-S")], compiler=compiler[0])
    unit = parse_unit_text(text, source)
    output = translate(
        unit.ast,
        source_name=source,
        extra_annotations=unit.extra_annotations,
    )
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    path = scratch / f"{Path(source).stem}.{digest}.cps.c"
    path.write_text(output)
    if os.environ.get("COROPROJ_KEEP_TRANSLATION"):
        keep = Path(os.environ["COROPROJ_KEEP_TRANSLATION"])
        keep.mkdir(parents=True, exist_ok=True)
        (keep / path.name).write_text(output)
    return path


def _implicit_dependency_names(flags: list[str], target: str) -> list[str]:
    """``-MF``/``-MQ`` for what gcc derives from ``-o`` when it compiles.

    Our dependency run is ``-E -o /dev/null``: left to itself, gcc would
    write ``/dev/null.d`` with a rule for ``null``.  A compile names the file
    after the object (``x.o`` -> ``x.d``) and the rule's target is the object.
    """
    if not any(flag in ("-MD", "-MMD") for flag in flags):
        return []
    names: list[str] = []
    if not any(flag.startswith("-MF") for flag in flags):
        names += ["-MF", str(Path(target).with_suffix(".d"))]
    if not any(flag.startswith(("-MT", "-MQ")) for flag in flags):
        names += ["-MQ", target]
    return names


def runtime_dir() -> Path:
    from coroproj.runtime.cpc import RUNTIME_DIR

    return RUNTIME_DIR


def _runtime_link_inputs(command: GccCommand, compiler: list[str]) -> list[str]:
    """The compiled continuation runtime, when this command links a program."""
    if command.mode != "link" or "-shared" in command.arguments:
        return []
    return [str(_compiled_runtime(compiler, command))]


def _compiled_runtime(compiler: list[str], command: GccCommand) -> Path:
    """cpc_runtime.c compiled with the code-generation flags of this link, cached."""
    source = runtime_dir() / "cpc_runtime.c"
    relevant = [a for a in command.arguments if a.startswith(("-m", "-f", "-O", "-g", "-pthread"))]
    if not any(a.startswith("-O") for a in relevant):
        # A link line rarely repeats the compile's -O: the trampoline and the
        # pushes are the hot path of every coroutine switch, never run at -O0.
        relevant.insert(0, RUNTIME_DEFAULT_OPTIMIZATION)
    key = hashlib.sha256(
        "\0".join([*compiler, *relevant, source.read_text(), (runtime_dir() / "cpc_runtime.h").read_text()])
        .encode()
    ).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "coroproj" / "runtime"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"cpc_runtime-{key}.o"
    if not target.exists():
        temporary = cache / f".{target.name}.{os.getpid()}"
        result = subprocess.run(
            [*compiler, *relevant, "-I", str(runtime_dir()), "-c", str(source), "-o", str(temporary)]
        )
        if result.returncode != 0:
            raise UserError("coroproj cc: compiling the cpc runtime failed")
        temporary.replace(target)
    return target


def main(argv: list[str], backend: str) -> int:
    try:
        return run_cc(argv, backend)
    except SourceError as error:
        # A unit the translator rejects: the one-line diagnostic, status 2
        # (like every coroproj error), never a traceback.
        print(str(error), file=sys.stderr)
        return error.exit_status
