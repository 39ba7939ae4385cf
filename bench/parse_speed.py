"""Front-end parse speed: preprocessed lines per second on one core.

Generates a realistic unit (the glibc headers QEMU-like code includes plus a
few thousand lines of annotated code), then parses it
  * with coroproj's GNU C front-end (gcc -E -std=gnu11 -D__COROPROJ__ text,
    annotation placement included), and
  * with plain pycparser on the same text with the GNU extensions erased
    (__attribute__, asm labels, __extension__, GNU keyword spellings),
and prints both rates and their ratio.  Best of several interleaved runs.

    nice python3 bench/parse_speed.py [--functions N] [--runs R] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pycparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coroproj.frontend.preprocess import preprocess
from coroproj.frontend.unit import parse_text

HEADERS = (
    "ctype", "errno", "fcntl", "inttypes", "limits", "math", "poll", "pthread", "setjmp",
    "signal", "stdarg", "stdatomic", "stdbool", "stddef", "stdint", "stdio", "stdlib",
    "string", "time", "unistd", "sys/mman", "sys/socket", "sys/stat", "sys/types",
    "sys/uio", "netinet/in",
)  # fmt: skip

PRELUDE = """\
#ifdef __COROPROJ__
#define coroutine_fn __attribute__((coroutine_fn))
#define blocking_fn __attribute__((blocking_fn))
#else
#define coroutine_fn
#define blocking_fn
#endif

typedef struct Request {
    int64_t offset;
    size_t length;
    unsigned flags;
    struct Request *next;
    void *buffer;
    int (*complete)(struct Request *req, int ret);
} Request;

typedef struct Driver {
    const char *name;
    int coroutine_fn (*co_readv)(struct Driver *drv, Request *req);
    int coroutine_fn (*co_writev)(struct Driver *drv, Request *req);
    int (*probe)(const char *filename);
    Request *queue;
    pthread_mutex_t lock;
} Driver;

void coroutine_fn qemu_coroutine_yield(void);
int blocking_fn aio_poll(int blocking);
"""

FUNCTION = """\
static int coroutine_fn co_handler_{i}(Driver *drv, Request *req, int depth)
{{
    int ret = 0;
    size_t done = 0;
    char scratch[64];
    for (Request *r = req; r != NULL && done < r->length; r = r->next) {{
        switch (r->flags & 7u) {{
        case 0:
            ret = drv->co_readv(drv, r);
            break;
        case 1:
            ret = drv->co_writev(drv, r);
            break;
        default:
            memset(scratch, 0, sizeof(scratch));
            snprintf(scratch, sizeof scratch, "%d:%zu", depth, done);
            ret = -EINVAL;
        }}
        if (ret < 0 && depth > {i} % 5) {{
            qemu_coroutine_yield();
            continue;
        }}
        done += (size_t)ret + strlen(scratch) * (depth ? 2 : 1);
    }}
    return ret < 0 ? ret : (int)(done & INT_MAX);
}}

static int native_helper_{i}(const Request *req, double scale)
{{
    double acc = 0.0;
    int i;
    for (i = 0; i < (int)req->length; ++i) {{
        acc += sqrt((double)i * scale) / (1.0 + fabs(scale));
    }}
    while (acc > 1e6) {{
        acc /= 2;
    }}
    return isdigit((int)acc % 128) ? (int)acc : -(int)acc;
}}

"""


def generate_unit(directory: Path, functions: int) -> Path:
    includes = "".join(f"#include <{header}.h>\n" for header in HEADERS)
    body = "".join(FUNCTION.format(i=i) for i in range(functions))
    path = directory / "bench_unit.c"
    path.write_text(includes + PRELUDE + body)
    return path


# Plain pycparser cannot read GNU extensions; the comparison text is the
# very same preprocessed text with them erased (newlines kept, so the line
# count is identical) and the builtin types glibc uses typedef'd.
PLAIN_PRELUDE = (
    "typedef int __builtin_va_list; typedef long double _Float128; typedef float _Float32;"
    " typedef double _Float64; typedef double _Float32x; typedef long double _Float64x;"
)
_GNU_WORDS = re.compile(
    r"\b(__attribute__|__attribute|__asm__|__asm|asm|__extension__"
    r"|__restrict__|__restrict|__inline__|__inline)\b"
)


def strip_gnu(text: str) -> str:
    """Erase attributes, asm labels, __extension__, GNU spellings."""
    out: list[str] = []
    pos = 0
    for match in _GNU_WORDS.finditer(text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.start()])
        word = match.group(1)
        pos = match.end()
        if word.startswith("__inline"):
            out.append("inline")
            continue
        end = pos
        while end < len(text) and text[end] in " \t\n":
            end += 1
        if word.startswith("__restrict") or word == "__extension__" or text[end] != "(":
            continue
        depth = 0
        while True:
            if text[end] == "(":
                depth += 1
            elif text[end] == ")":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        out.append("\n" * text.count("\n", match.start(), end + 1))
        pos = end + 1
    out.append(text[pos:])
    return PLAIN_PRELUDE + "".join(out)


def best_times(parsers: list[Callable[[str], object]], texts: list[str], runs: int) -> list[float]:
    """Best wall time of each parser on its text; runs are interleaved so a
    busy machine slows both alike."""
    best = [float("inf")] * len(parsers)
    for _ in range(runs):
        for index, (parse, text) in enumerate(zip(parsers, texts, strict=True)):
            start = time.perf_counter()
            parse(text)
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--functions", type=int, default=100, help="generated pairs")
    arguments.add_argument("--runs", type=int, default=5)
    arguments.add_argument("--profile", action="store_true", help="profile the GNU parse")
    options = arguments.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        unit = generate_unit(Path(scratch), options.functions)
        gnu = preprocess(unit, ["-std=gnu11"])
    plain = strip_gnu(gnu)

    gnu_lines = gnu.count("\n")
    plain_lines = plain.count("\n")
    written = unit.name

    def parse_gnu(text: str) -> None:
        parse_text(text, written)

    def parse_plain(text: str) -> None:
        pycparser.CParser().parse(text, written)

    if options.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        parse_gnu(gnu)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)

    gnu_time, plain_time = best_times([parse_gnu, parse_plain], [gnu, plain], options.runs)
    gnu_rate = gnu_lines / gnu_time
    plain_rate = plain_lines / plain_time
    print(f"unit: {options.functions * 2} generated functions + {len(HEADERS)} glibc headers")
    for label, lines, seconds, rate in (
        ("coroproj GNU front-end", gnu_lines, gnu_time, gnu_rate),
        ("plain pycparser 3.12  ", plain_lines, plain_time, plain_rate),
    ):
        print(f"{label}: {lines:7d} lines in {seconds:6.3f} s = {rate:9.0f} lines/s")
    print(f"ratio GNU / plain: {gnu_rate / plain_rate:.2f}")


if __name__ == "__main__":
    main()
