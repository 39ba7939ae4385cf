"""One test per defect of the original CPC translator (CPS.md), each fixed here.

Rejections (``return &local``, prototype/definition mismatch, a native-typed
pointer to a coroutine function) are in test_rejections.py; the behaviour
fixes are checked here by running translated programs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coroproj.errors import SourceError
from tests.cps.harness import HERE, CpsBuilder, run, translate_file

PROGRAMS = HERE / "programs"


def cpu_has_avx() -> bool:
    try:
        return re.search(r"^flags\s*:.*\bavx\b", Path("/proc/cpuinfo").read_text(), re.MULTILINE) is not None
    except OSError:
        return False


def test_results_convert_like_c_instead_of_patching_bytes(builder: CpsBuilder) -> None:
    # CPC stored an int result into a long's slot (and a double into an int's).
    output = run(builder.cpc([PROGRAMS / "conversions.c"], "conversions"))
    assert output == "x=-123456 i=-42 d=1099511627776.0 s=9029 u=4294967295 g=-2 f=0.50 c=A\n"


def test_result_temporary_has_exactly_the_callee_return_type() -> None:
    normalized = translate_file(PROGRAMS / "conversions.c", stage="normalize")
    # long x = int_fn(...): an int temporary, then a separate conversion.
    match = re.search(r"(cpc__t\d+) = int_fn\(-123456\);\s*x = \1;", normalized)
    assert match, normalized
    assert re.search(rf"\bint {match.group(1)};", normalized)
    match = re.search(r"(cpc__t\d+) = double_fn\(-42\.9\);\s*i = \1;", normalized)
    assert match and re.search(rf"\bdouble {match.group(1)};", normalized)


def test_alignment_comes_from_the_runtime_macro_only() -> None:
    translated = translate_file(PROGRAMS / "types.c")
    assert "_Alignas(CPC_ALIGN)" in translated
    assert not re.search(r"_Alignas\(\d+\)|aligned\(\d+\)", translated)


def test_avx_build_returns_every_type_correctly(tmp_path: Path) -> None:
    # -mavx raises __BIGGEST_ALIGNMENT__ to 32: CPC's hard-coded 16 broke every return.
    (tmp_path / "native").mkdir()
    expected = run(CpsBuilder(tmp_path / "native").native([PROGRAMS / "types.c"], "types-ref"))
    binary = CpsBuilder(tmp_path, flags=["-mavx"]).cpc([PROGRAMS / "types.c"], "types-avx")
    if not cpu_has_avx():
        pytest.skip("CPU without AVX: compiled only")
    assert run(binary) == expected


def test_continuations_grow_past_64_kib(builder: CpsBuilder) -> None:
    # CPC's 16-bit length field wrapped at 64 KiB; 20000 nested frames need ~1 MiB.
    output = run(builder.cpc([PROGRAMS / "recursion.c"], "recursion-deep"))
    assert "depth 200010000\n" in output


def test_return_of_a_local_address_is_rejected(tmp_path: Path) -> None:
    source = tmp_path / "ret.c"
    source.write_text(
        '#include "qemu/coroutine.h"\n'
        "int *coroutine_fn f(void) { int a[2] = {0}; qemu_coroutine_yield(); return a; }\n"
    )
    with pytest.raises(SourceError) as caught:
        translate_file(source)
    assert caught.value.check == "cps-return-local-address"


def test_prototype_with_annotation_and_definition_without_is_rejected(tmp_path: Path) -> None:
    source = tmp_path / "proto.c"
    source.write_text('#include "qemu/coroutine.h"\nvoid f(void);\nvoid coroutine_fn f(void) { }\n')
    with pytest.raises(SourceError) as caught:
        translate_file(source)
    assert caught.value.check == "cps-proto-mismatch"
    assert caught.value.spot.line == 3


def test_native_typed_pointer_to_coroutine_function_is_rejected(tmp_path: Path) -> None:
    source = tmp_path / "ptr.c"
    source.write_text(
        '#include "qemu/coroutine.h"\nstatic int coroutine_fn co(void) { return 0; }\n'
        "void use(void) {\n  int (*p)(void);\n  p = co;\n  (void)p;\n}\n"
    )
    with pytest.raises(SourceError) as caught:
        translate_file(source)
    assert caught.value.check == "cps-pointer-mismatch"
    assert caught.value.spot.line == 5
