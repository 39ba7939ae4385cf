"""Reading a GCC command line the way GCC does, as far as a wrapper must.

The wrapper needs to know which inputs are C sources (they get translated),
what is being produced (preprocessed text, assembly, objects, a program),
where it goes, which options matter only to one of the steps it runs
(preprocessing, compiling, linking), and the names gcc gives to the files
it derives from the output (dependency files, ``-save-temps``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Options whose value is the next argument (when not glued to the option).
_WITH_VALUE = {
    "-o", "-x", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-iquote", "-idirafter",
    "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-isysroot", "-MF", "-MT", "-MQ", "-L", "-l",
    "-Xlinker", "-Xassembler", "-Xpreprocessor", "-T", "-u", "-z", "-aux-info", "--param", "-A",
    "-e", "-specs", "--sysroot", "-dumpbase", "-dumpdir", "-dumpbase-ext",
}
_DEPENDENCY = {"-M", "-MM", "-MD", "-MMD", "-MG", "-MP"}
_DEPENDENCY_WITH_VALUE = {"-MF", "-MT", "-MQ"}
# Already applied when the source was preprocessed: applied again to the
# translation they would define everything twice.
_PREPROCESSING_ONLY_WITH_VALUE = {"-include", "-imacros", "-x"}
# Only the link reads these; a compile would warn that they are unused.
_LINK_ONLY_WITH_VALUE = {"-l", "-L", "-Xlinker", "-T", "-u", "-z", "-e"}
_LINK_ONLY_PREFIXES = ("-l", "-Wl,", "-L")
# Options that select what gcc stops at: the earliest stage wins, whatever their order.
_STAGES = {"-E": "preprocess", "-M": "preprocess", "-MM": "preprocess", "-fsyntax-only": "syntax",
           "-S": "assemble", "-c": "compile"}
_STAGE_ORDER = ("preprocess", "syntax", "assemble", "compile", "link")
C_SUFFIXES = (".c",)
_LINK_INPUT_SUFFIXES = (".o", ".a", ".so", ".lo")


@dataclass
class Option:
    """One option as written, with its separate value if it takes one (``["-I", "inc"]``)."""

    words: list[str]

    @property
    def name(self) -> str:
        return self.words[0]


@dataclass
class GccCommand:
    """A parsed gcc command line."""

    arguments: list[str]  # everything but the C sources and -o, in order
    sources: list[str] = field(default_factory=list)  # C sources to translate
    output: str | None = None
    mode: str = "link"  # "preprocess" (-E, -M), "syntax", "assemble" (-S), "compile" (-c) or "link"
    language_forced: bool = False  # an explicit -x: we do not second-guess it
    # Options and inputs in order, each source as its index: a link must keep
    # gcc's order, or archives named before a source no longer resolve it.
    ordered: list[Option | str | int] = field(default_factory=list)

    def link_arguments(self, objects: list[str]) -> list[str]:
        """Everything in order, each source replaced, in its place, by its object."""
        linked: list[str] = []
        for item in self.ordered:
            if isinstance(item, int):
                linked += ["-x", "none", objects[item]]  # an object, whatever -x was in force
            elif isinstance(item, str):
                linked.append(item)
            elif not _is_dependency_option(item.name):
                linked += item.words
        return linked

    @property
    def compile_only(self) -> bool:
        return self.mode in ("compile", "assemble")

    @property
    def save_temps(self) -> bool:
        return any(a == "-save-temps" or a.startswith("-save-temps=") for a in self.arguments)

    def options(self) -> list[Option]:
        return [item for item in self.ordered if isinstance(item, Option)]

    def preprocess_arguments(self) -> list[str]:
        """Options for preprocessing a source: all but the link's."""
        return [word for option in self.options() if not _is_link_only(option) for word in option.words]

    def dependency_arguments(self) -> list[str]:
        """The options that generate a dependency file, as written."""
        return [word for option in self.options() if _is_dependency_option(option.name)
                for word in option.words]

    def compile_arguments(self) -> list[str]:
        """Options for compiling translated text: no stage, dependency, preprocessing or link options."""
        kept: list[str] = []
        for option in self.options():
            if option.name in _STAGES or _is_dependency_option(option.name) or _is_link_only(option):
                continue
            if option.name in _PREPROCESSING_ONLY_WITH_VALUE or option.name.startswith("-x"):
                continue
            kept += option.words
        return kept

    def aux_base(self, source: str) -> str:
        """The name, without suffix, gcc gives to the files it derives for ``source``.

        gcc 11 and later: a compile names them after its output (``-c -o
        obj/x.o``: ``obj/x.i``), else after the source in the current
        directory; a link after the program, joined to the source
        (``-o prog``: ``prog-main.i``; no ``-o``: ``a-main.i``).
        """
        stem = Path(source).stem
        if self.compile_only:
            return _without_suffix(self.output) if self.output else stem
        program = _without_suffix(self.output) if self.output else "a"
        return f"{program}-{stem}"

    def dependency_names(self, source: str) -> list[str]:
        """``-MF``/``-MQ`` naming what gcc itself would for ``-MD``/``-MMD`` on ``source``.

        The file: the output with its suffix replaced by ``.d`` when there is
        an ``-o`` (in a link too: every source writes ``prog.d``, the last
        one wins, as with gcc), else the source's name in the current
        directory (``a-main.d`` for a link).  The rule's target: the ``-o``
        argument, else the source's name with ``.o``, even under ``-S``.
        """
        written = self.dependency_arguments()
        if not any(a in ("-MD", "-MMD") for a in written):
            return []
        names: list[str] = []
        if not any(a.startswith("-MF") for a in written):
            if self.output:
                names += ["-MF", _without_suffix(self.output) + ".d"]
            else:
                names += ["-MF", self.aux_base(source) + ".d"]
        if not any(a.startswith(("-MT", "-MQ")) for a in written):
            names += ["-MQ", self.output or Path(source).stem + ".o"]
        return names


def _without_suffix(path: str) -> str:
    head, tail = os.path.split(path)
    stem, dot, _suffix = tail.rpartition(".")
    return os.path.join(head, stem) if dot and stem else path


def _is_dependency_option(name: str) -> bool:
    return name in _DEPENDENCY or name.startswith(tuple(_DEPENDENCY_WITH_VALUE))


def _is_link_only(option: Option) -> bool:
    return option.name in _LINK_ONLY_WITH_VALUE or option.name.startswith(_LINK_ONLY_PREFIXES)


def _is_link_input(argument: str) -> bool:
    return not argument.startswith("-") and Path(argument).suffix in _LINK_INPUT_SUFFIXES


def expand_response_files(argv: list[str], depth: int = 0) -> list[str]:
    """``@file`` replaced by the arguments written in it, as gcc (libiberty) reads them.

    Words are separated by white space; single and double quotes group, a
    backslash takes the next character literally; a file may name other
    ``@file``s.  An ``@name`` that is not a readable file stays as it is.
    """
    expanded: list[str] = []
    for argument in argv:
        if not argument.startswith("@") or depth > 32:
            expanded.append(argument)
            continue
        try:
            text = Path(argument[1:]).read_text(errors="surrogateescape")
        except OSError:
            expanded.append(argument)
            continue
        expanded += expand_response_files(_split_response_text(text), depth + 1)
    return expanded


def _split_response_text(text: str) -> list[str]:
    words: list[str] = []
    word: list[str] = []
    in_word = False
    quote: str | None = None
    characters = iter(text)
    for character in characters:
        if quote is None and character.isspace():
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            continue
        in_word = True
        if character == "\\":
            word.append(next(characters, ""))
        elif quote is not None and character == quote:
            quote = None
        elif quote is None and character in "'\"":
            quote = character
        else:
            word.append(character)
    if in_word:
        words.append("".join(word))
    return words


def parse_gcc_command(argv: list[str]) -> GccCommand:
    command = GccCommand(arguments=[])
    stages: list[str] = []
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
        if argument in _STAGES:
            stages.append(_STAGES[argument])
        if argument == "-x" and index + 1 < len(argv):
            language = argv[index + 1]
            command.language_forced = language != "none"
        elif argument.startswith("-x") and len(argument) > 2:
            language = argument[2:]
            command.language_forced = language != "none"
        if argument in _WITH_VALUE and index + 1 < len(argv):
            command.arguments += [argument, argv[index + 1]]
            command.ordered.append(Option([argument, argv[index + 1]]))
            index += 2
            continue
        is_input = not argument.startswith("-") or argument == "-"
        is_c_source = is_input and argument != "-" and (
            language == "c" or (language in (None, "none") and argument.endswith(C_SUFFIXES))
        )
        if is_c_source:
            command.ordered.append(len(command.sources))
            command.sources.append(argument)
        else:
            command.arguments.append(argument)
            command.ordered.append(argument if is_input else Option([argument]))
        index += 1
    if stages:
        command.mode = min(stages, key=_STAGE_ORDER.index)
    return command
