"""Build C programs two ways: translated to CPS (cpc runtime) and natively (ucontext).

``CpsBuilder.cpc(sources)`` translates each source with the translator
in-process, compiles it with gcc -Wall -Wextra -Werror and links it with
the cpc runtime, the cpc backend and the hand-translated common coroutine
layer of tests/cpc_runtime.  ``CpsBuilder.native(sources)`` compiles the
same sources against the ucontext reference backend in support/.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from coroproj.cps.pipeline import translate
from coroproj.frontend.preprocess import preprocess
from coroproj.frontend.unit import parse_unit_text
from coroproj.runtime import cpc

HERE = Path(__file__).resolve().parent
INCLUDE = HERE / "include"
SUPPORT = HERE / "support"
RUNTIME_TESTS = HERE.parent / "cpc_runtime"
COMMON_LAYER = RUNTIME_TESTS / "qemu_coroutine_cps.c"
# The backend (native code) is compiled against the real backend interface.
SAMPLE_INCLUDE = HERE.parents[1] / "sample_project" / "include"
CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"]


def translate_file(source: Path, flags: list[str] | None = None, stage: str | None = None) -> str:
    flags = ["-I", str(INCLUDE), *(flags or [])]
    text = preprocess(source, flags)
    unit = parse_unit_text(text, str(source))
    return translate(
        unit.ast,
        source_name=str(source),
        stage=stage,
        extra_annotations=unit.extra_annotations,
    )


def _gcc(args: list[str]) -> None:
    done = subprocess.run(["gcc", *args], capture_output=True, text=True)
    if done.returncode != 0 or done.stderr:
        raise AssertionError(f"gcc {' '.join(args)}\n{done.stderr}")


@dataclass
class CpsBuilder:
    out: Path
    flags: list[str] = field(default_factory=list)
    _objects: dict[str, Path] = field(default_factory=dict)

    def _object(self, source: Path, include: list[str], tag: str) -> Path:
        key = f"{tag}:{source}:{' '.join(self.flags)}"
        if key not in self._objects:
            digest = hashlib.sha256(key.encode()).hexdigest()[:10]
            obj = self.out / f"{source.stem}-{digest}.o"
            _gcc([*CFLAGS, *self.flags, *include, "-c", str(source), "-o", str(obj)])
            self._objects[key] = obj
        return self._objects[key]

    def cpc_support(self) -> list[Path]:
        runtime_include = [
            "-I",
            str(cpc.RUNTIME_DIR),
            "-I",
            str(RUNTIME_TESTS),
            "-I",
            str(SAMPLE_INCLUDE),
        ]
        objects = [self._object(COMMON_LAYER, runtime_include, "cpc")]
        objects += [self._object(source, runtime_include, "cpc") for source in cpc.SOURCES]
        return objects

    def translated_object(self, source: Path, name: str) -> Path:
        text = translate_file(source, self.flags)
        translated = self.out / f"{name}.cps.c"
        translated.write_text(text)
        obj = self.out / f"{name}.cps.o"
        _gcc([*CFLAGS, *self.flags, "-I", str(cpc.RUNTIME_DIR), "-c", str(translated), "-o", str(obj)])
        return obj

    def cpc(self, sources: list[Path], name: str, *, with_colock: bool = False) -> Path:
        objects = [self.translated_object(source, f"{name}-{i}") for i, source in enumerate(sources)]
        if with_colock:
            key = "colock-cpc"
            if key not in self._objects:
                self._objects[key] = self.translated_object(SUPPORT / "colock.c", "colock")
            objects.append(self._objects[key])
        binary = self.out / f"{name}.cpc"
        _gcc([*self.flags, "-o", str(binary), *map(str, objects), *map(str, self.cpc_support())])
        return binary

    def native(self, sources: list[Path], name: str, *, with_colock: bool = False) -> Path:
        include = ["-I", str(INCLUDE)]
        objects = [self._object(SUPPORT / "coroutine_ucontext.c", include, "native")]
        if with_colock:
            objects.append(self._object(SUPPORT / "colock.c", include, "native"))
        binary = self.out / f"{name}.native"
        _gcc([*CFLAGS, *self.flags, *include, "-o", str(binary), *map(str, sources), *map(str, objects)])
        return binary


def run(binary: Path, timeout: float = 60) -> str:
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{binary} exited with {done.returncode}\n{done.stderr}")
    return done.stdout
