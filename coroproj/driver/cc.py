"""``coroproj cc --backend cpc``: a drop-in C compiler that compiles coroutines to CPS.

For every C source on the command line: preprocess it with the given flags
(plus ``-D__COROPROJ__``, so the annotation macros become attributes),
translate it, and compile the translated text with the real compiler and
the same flags (but for those only preprocessing or linking reads).  The
files it writes are named as gcc names them (``coroproj cc`` in the README).
When the command links, the continuation runtime is compiled once (cached
next to this package's sources would need write access, so it goes to a
per-user cache keyed by the compiler and flags) and added to the link.
Everything else (objects, archives, libraries, assembly) passes through
untouched, in its place, so ``make CC="coroproj cc --backend cpc"`` and
SCons's ``CC`` work unchanged.  The runtime's own sources (in
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

from coroproj.driver.gcc_args import GccCommand, expand_response_files, parse_gcc_command
from coroproj.errors import SourceError, SourceSpot, UserError
from coroproj.util.files import write_text_atomically

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
    # gcc reads its @file arguments before anything else: so must we, or the
    # sources written in one would go to the compiler untranslated.
    argv = expand_response_files(argv)
    command = parse_gcc_command(argv)
    has_inputs = any(isinstance(item, str) for item in command.ordered)
    if not command.sources and not has_inputs:
        # No input at all (--version, -v, -print-*...): the compiler's own answer.
        return subprocess.run([*compiler, *argv]).returncode
    if not command.sources or command.mode == "preprocess":
        # Nothing to translate: objects, libraries, assembly, or plain -E / -M.
        return subprocess.run([*compiler, *argv, *_runtime_link_inputs(command, compiler)]).returncode
    if command.output and command.compile_only and len(command.sources) + int(has_inputs) > 1:
        # gcc refuses -o with -c or -S and several inputs: its own words and status.
        return subprocess.run([*compiler, *argv]).returncode
    status = 0
    if command.compile_only and has_inputs:
        # Assembly and other languages beside the C sources: gcc compiles them itself.
        status = subprocess.run([*compiler, *command.arguments]).returncode
    with tempfile.TemporaryDirectory(prefix="coroproj-cc-") as scratch:
        objects: list[str] = []
        for index, source in enumerate(command.sources):
            output = _object_for(command, source, index, Path(scratch))
            objects.append(output or "")
            try:
                translated = _translation_of(source, command, compiler, Path(scratch))
            except SourceError as error:
                # One line per unit the translator rejects, then on to the next
                # source, as gcc goes on after a unit that does not compile.
                print(error.one_line(), file=sys.stderr)
                status = status or error.exit_status
                continue
            compiled = subprocess.run(_compile_command(command, compiler, translated, output)).returncode
            status = status or compiled
        if status or command.mode != "link":
            return status
        link = [*compiler, *command.link_arguments(objects), *_runtime_link_inputs(command, compiler)]
        if command.output:
            link += ["-o", command.output]
        return subprocess.run(link).returncode


def _object_for(command: GccCommand, source: str, index: int, scratch: Path) -> str | None:
    """Where the compile of ``source`` writes: what gcc would name it (None: nothing, -fsyntax-only)."""
    if command.mode == "syntax":
        return None
    if command.compile_only:
        return command.output or Path(source).stem + (".s" if command.mode == "assemble" else ".o")
    if command.save_temps:
        # gcc keeps a link's objects under -save-temps (prog-main.o), beside prog-main.i and .s.
        return command.aux_base(source) + ".o"
    return str(scratch / f"{Path(source).stem}.{index}.o")


def _compile_command(
    command: GccCommand, compiler: list[str], translated: Path, output: str | None
) -> list[str]:
    stage = {"syntax": "-fsyntax-only", "assemble": "-S"}.get(command.mode, "-c")
    compile_command = [*compiler, *command.compile_arguments(), "-I", str(runtime_dir()), stage,
                       "-x", "c", str(translated), "-x", "none"]
    return compile_command if output is None else [*compile_command, "-o", output]


def _translation_of(source: str, command: GccCommand, compiler: list[str], scratch: Path) -> Path:
    """The C to compile for ``source``: its translation, or the runtime's own C as it is."""
    # The runtime's own C (coroutine-cpc.c) is the native side of the
    # calling convention: compiled as is, never translated.
    # A link to one of its files (`coroproj backend NAME TREE`) is the same file.
    if runtime_dir() in Path(source).resolve().parents:
        return Path(source)
    return _translate(source, command, compiler, scratch)


def _translate(source: str, command: GccCommand, compiler: list[str], scratch: Path) -> Path:
    """Preprocess and translate one source; the C text lands in ``scratch``.

    A ``-MD``/``-MMD`` dependency file is written first by the real
    preprocessor, for the original source, under the name gcc gives it.
    Under ``-save-temps`` the translation is kept too, as ``<base>.cps.c``
    beside the ``.i`` and ``.s`` gcc keeps.
    """
    from coroproj.cps.pipeline import translate
    from coroproj.frontend.preprocess import preprocess
    from coroproj.frontend.unit import parse_unit_text

    # -x is the driver's to set: the source is C, whatever -x came before it.
    flags = [a for a in _without_language(command.preprocess_arguments()) if a not in _NOT_FOR_PREPROCESSING]
    if command.dependency_arguments():
        deps = subprocess.run(
            [*compiler, *flags, *command.dependency_names(source), "-E", "-x", "c", source, "-o", os.devnull]
        )
        if deps.returncode != 0:
            # The preprocessor has said why, in its own words.
            raise SourceError(SourceSpot(source, 1), "preprocessing failed", "parse-error")
    text = preprocess(source, [*flags, "-x", "c"], compiler=compiler[0])
    unit = parse_unit_text(text, source)
    output = translate(
        unit.ast,
        source_name=source,
        extra_annotations=unit.extra_annotations,
    )
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    path = scratch / f"{Path(source).stem}.{digest}.cps.c"
    path.write_text(output)
    if command.save_temps:
        write_text_atomically(Path(command.aux_base(source) + ".cps.c"), output)
    if os.environ.get("COROPROJ_KEEP_TRANSLATION"):
        keep = Path(os.environ["COROPROJ_KEEP_TRANSLATION"])
        keep.mkdir(parents=True, exist_ok=True)
        (keep / path.name).write_text(output)
    return path


# Stage selection and -save-temps: the preprocessing runs write nothing but text.
_NOT_FOR_PREPROCESSING = ("-c", "-S", "-fsyntax-only", "-save-temps", "-save-temps=cwd", "-save-temps=obj")


def _without_language(flags: list[str]) -> list[str]:
    kept: list[str] = []
    words = iter(flags)
    for word in words:
        if word == "-x":
            next(words, None)
        elif not word.startswith("-x"):
            kept.append(word)
    return kept


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
        print(error.one_line(), file=sys.stderr)
        return error.exit_status
