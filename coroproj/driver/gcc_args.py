"""Reading a GCC command line the way GCC does, as far as a wrapper must.

The wrapper needs to know which inputs are C sources (they get translated),
what is being produced (preprocessed text, assembly, objects, a program),
where it goes, and which options matter only to one of the steps it runs
(preprocessing, compiling, linking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Options whose value is the next argument (when not glued to the option).
_WITH_VALUE = {
    "-o", "-x", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-iquote", "-idirafter",
    "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-isysroot", "-MF", "-MT", "-MQ", "-L", "-l",
    "-Xlinker", "-Xassembler", "-Xpreprocessor", "-T", "-u", "-z", "-aux-info", "--param", "-A",
    "-e", "-specs", "--sysroot",
}
_DEPENDENCY = {"-M", "-MM", "-MD", "-MMD", "-MG", "-MP"}
_DEPENDENCY_WITH_VALUE = {"-MF", "-MT", "-MQ"}
C_SUFFIXES = (".c",)
# Inputs gcc compiles itself that we leave alone (assembly, C++, objects, archives).


@dataclass
class GccCommand:
    """A parsed gcc command line."""

    arguments: list[str]  # everything but the C sources and -o, in order
    sources: list[str] = field(default_factory=list)  # C sources to translate
    output: str | None = None
    mode: str = "link"  # "preprocess" (-E), "assemble" (-S), "compile" (-c) or "link"
    language_forced: bool = False  # an explicit -x: we do not second-guess it
    # ``arguments`` with each source's index where the source was: a link must
    # keep gcc's order, or archives named before a source no longer resolve it.
    ordered: list[str | int] = field(default_factory=list)

    def link_arguments(self, objects: list[str]) -> list[str]:
        """``arguments`` with each source replaced, in its place, by its object."""
        linked: list[str] = []
        for item in self.ordered:
            if isinstance(item, int):
                linked += ["-x", "none", objects[item]]  # an object, whatever -x was in force
            else:
                linked.append(item)
        return linked

    @property
    def compile_only(self) -> bool:
        return self.mode in ("compile", "assemble")

    def preprocess_arguments(self) -> list[str]:
        """Arguments for the ``-E`` step: everything but linker-only inputs."""
        return [a for a in self.arguments if not _is_link_input(a)]

    def compile_arguments(self) -> list[str]:
        """Arguments for compiling translated text: no dependency generation, no link inputs."""
        kept: list[str] = []
        skip_next = False
        for argument in self.arguments:
            if skip_next:
                skip_next = False
                continue
            if argument in _DEPENDENCY_WITH_VALUE:
                skip_next = True
                continue
            if argument in _DEPENDENCY or argument.startswith(tuple(_DEPENDENCY_WITH_VALUE)):
                continue
            if _is_link_input(argument):
                continue
            kept.append(argument)
        return kept


def _is_link_input(argument: str) -> bool:
    return not argument.startswith("-") and Path(argument).suffix in (".o", ".a", ".so", ".lo")


def parse_gcc_command(argv: list[str]) -> GccCommand:
    command = GccCommand(arguments=[])
    index = 0
    language: str | None = None
    while index < len(argv):
        argument = argv[index]
        if argument == "-o" and index + 1 < len(argv):
            command.output = argv[index + 1]
            index += 2
            continue
        if argument.startswith("-o") and len(argument) > 2:
            command.output = argument[2:]
            index += 1
            continue
        if argument in ("-E", "-S", "-c"):
            command.mode = {"-E": "preprocess", "-S": "assemble", "-c": "compile"}[argument]
        if argument == "-x" and index + 1 < len(argv):
            language = argv[index + 1]
            command.language_forced = language != "none"
        elif argument.startswith("-x") and len(argument) > 2:
            language = argument[2:]
            command.language_forced = language != "none"
        if argument in _WITH_VALUE and index + 1 < len(argv):
            command.arguments += [argument, argv[index + 1]]
            command.ordered += [argument, argv[index + 1]]
            index += 2
            continue
        is_c_source = not argument.startswith("-") and (
            language == "c" or (language in (None, "none") and argument.endswith(C_SUFFIXES))
        )
        if is_c_source:
            command.ordered.append(len(command.sources))
            command.sources.append(argument)
        else:
            command.arguments.append(argument)
            command.ordered.append(argument)
        index += 1
    return command
