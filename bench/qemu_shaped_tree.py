"""Write a generated C tree shaped like QEMU's units, with its compile database.

    python3 -m bench.qemu_shaped_tree DIR [--units 160] [--headers 48] [--seed 1]

then measure it like a real tree: ``python3 -m bench.real_tree DIR``.

The profile of a QEMU 9.2 unit: ~30,000 preprocessed lines, nine tenths of
them headers every unit shares (glib and glibc through ``qemu/osdep.h``,
then the project's own), typedef-heavy, with ``static inline`` functions in
headers, and coroutine annotations spelled as QEMU spells them
(``QEMU_ANNOTATE`` under clang, nothing under gcc, which coroproj's overlay
makes visible).  Each unit here includes ``qemu/osdep.h`` (glib and the
usual glibc headers, ~16,000 lines), about 36 of the ``--headers`` module
headers (each with typedefs, a struct, an enum, prototypes and inline
functions, some of them coroutine functions, and two earlier modules
included), and has ~2,500 lines of its own: functions calling the inline
functions and the other units' functions, coroutine chains across units,
some annotations left out and some extra (``spurious``).  A few small
headers are each included by only five units (a header touched there sends
only its includers back to the analysis).

Needs gcc and glib's headers (Debian's libglib2.0-dev, pkg-config).
Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import subprocess
import sys
from pathlib import Path

OSDEP_H = """\
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdbool.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/stat.h>
#define QEMU_ANNOTATE(x) __attribute__((annotate(x)))
#ifdef __clang__
#define coroutine_fn QEMU_ANNOTATE("coroutine_fn")
#define coroutine_mixed_fn QEMU_ANNOTATE("coroutine_mixed_fn")
#define no_coroutine_fn QEMU_ANNOTATE("no_coroutine_fn")
#else
#define coroutine_fn
#define coroutine_mixed_fn
#define no_coroutine_fn
#endif
#endif
"""

# Sized so that a unit preprocesses to ~30,000 lines, as QEMU 9.2's do.
MODULES_PER_UNIT = 36
INLINE_GETTERS = 12
# Headers each included by a few units (units / GROUPS of them).
GROUPS = 32

COROUTINE_H = """\
#ifndef QEMU_COROUTINE_H
#define QEMU_COROUTINE_H
#include "qemu/osdep.h"
typedef struct Coroutine Coroutine;
typedef void coroutine_fn CoroutineEntry(void *opaque);
Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque);
void qemu_coroutine_enter(Coroutine *co);
void coroutine_fn qemu_coroutine_yield(void);
bool qemu_in_coroutine(void);
typedef struct CoQueue { Coroutine *first; Coroutine *last; } CoQueue;
void coroutine_fn qemu_co_queue_wait(CoQueue *queue);
bool qemu_co_queue_next(CoQueue *queue);
static inline void coroutine_fn qemu_co_sleep(CoQueue *queue)
{
    if (queue->first == NULL) {
        qemu_coroutine_yield();
    } else {
        qemu_co_queue_wait(queue);
    }
}
#endif
"""


def module_header(number: int, rng: random.Random) -> str:
    """Module ``number``'s header: a typedef-heavy API with inline functions."""
    name = f"Mod{number}"
    lines = [f"#ifndef MOD{number}_H", f"#define MOD{number}_H", '#include "qemu/coroutine.h"']
    for earlier in sorted({rng.randrange(number) for _ in range(2)} if number else set()):
        lines.append(f'#include "mod/mod{earlier}.h"')
    lines += [
        f"typedef struct {name} {name};",
        f"typedef struct {name}Class {name}Class;",
        f"typedef uint{rng.choice([8, 16, 32, 64])}_t {name}Flags;",
        f"typedef int (*{name}Handler)({name} *obj, void *opaque);",
        f"typedef void coroutine_fn {name}CoHandler({name} *obj);",
        f"typedef enum {name}State {{",
        *(f"    {name.upper()}_STATE_{state}," for state in range(12)),
        f"}} {name}State;",
        f"struct {name}Class {{",
        f"    {name}Handler realize;",
        f"    {name}CoHandler *co_flush;",
        f"    int (*get_{number})({name} *obj, {name}Flags flags, GError **errp);",
        "};",
        f"struct {name} {{",
        f"    {name}Class *klass;",
        f"    {name}State state;",
        f"    {name}Flags flags;",
        "    GHashTable *properties;",
        "    GList *children;",
        "    char *id;",
        "    CoQueue waiters;",
        *(f"    int64_t counter{field};" for field in range(INLINE_GETTERS)),
        "};",
    ]
    for method in range(14):
        annotated = "coroutine_fn " if method % 4 == 0 else ""
        parameters = f"{name} *obj, {name}Flags flags, const char *arg, GError **errp"
        lines.append(f"int {annotated}mod{number}_op{method}({parameters});")
    for inline in range(INLINE_GETTERS):
        body = [f"static inline int mod{number}_get{inline}(const {name} *obj)", "{",
                "    if (!obj) {", "        return -EINVAL;", "    }",
                f"    return (int)(obj->counter{inline} + obj->flags) + {inline};", "}"]
        lines += body
    lines += [
        f"static inline void coroutine_fn mod{number}_co_wait({name} *obj)",
        "{",
        "    while (obj->state != 0) {",
        "        qemu_co_sleep(&obj->waiters);",
        "    }",
        "}",
        f"static inline bool mod{number}_is_ready({name} *obj)",
        "{",
        f"    return obj->state == {name.upper()}_STATE_3 && g_hash_table_size(obj->properties) > 0;",
        "}",
        f"static inline int mod{number}_realize({name} *obj, void *opaque)",
        "{",
        "    return obj->klass->realize ? obj->klass->realize(obj, opaque) : 0;",
        "}",
        "#endif",
    ]
    return "\n".join(lines) + "\n"


def unit_source(number: int, units: int, headers: int, rng: random.Random) -> str:
    """Unit ``number``: ~2,500 lines of its own, implementing module number % headers."""
    module = number % headers
    included = sorted([*rng.sample(range(headers), min(headers, MODULES_PER_UNIT)), module])
    lines = ['#include "qemu/osdep.h"', '#include "qemu/coroutine.h"']
    lines += [f'#include "mod/mod{other}.h"' for other in dict.fromkeys(included)]
    lines.append(f'#include "group/group{number % GROUPS}.h"')  # a header only a few units include
    name = f"Mod{module}"
    peers = [(number + step) % units for step in (1, 3, 10)]
    for peer in peers:
        lines.append(f"void coroutine_fn unit{peer}_co_work(int depth);")
        lines.append(f"int unit{peer}_compute(int depth);")
    # The unit's coroutine chain: yields through a header's inline function;
    # every fifth unit forgets the annotation (a `missing` finding).
    annotated = "" if number % 5 == 0 else "coroutine_fn "
    lines += [
        f"void {annotated}unit{number}_co_work(int depth)",
        "{",
        f"    static {name} obj;",
        "    if (depth > 0) {",
        f"        unit{peers[0]}_co_work(depth - 1);",
        "    }",
        f"    mod{module}_co_wait(&obj);",
        "}",
        f"int unit{number}_compute(int depth)",
        "{",
        f"    return depth > 0 ? unit{peers[1]}_compute(depth - 1) + 1 : 0;",
        "}",
    ]
    if number % 11 == 0:
        lines += [f"void coroutine_fn unit{number}_idle(void)", "{", "}"]  # spurious
    for function in range(56):
        other = included[function % len(included)]
        native_op = function % 14 + 1 if function % 14 % 4 == 0 else function % 14  # not a coroutine_fn
        cases = [f"    case {k}:\n        total += {k * function};\n        break;" for k in range(6)]
        lines += [
            f"static int unit{number}_helper{function}(Mod{other} *obj, int count)",
            "{",
            "    int total = 0;",
            "    GError *err = NULL;",
            "    for (int i = 0; i < count; i++) {",
            f"        total += mod{other}_get{function % INLINE_GETTERS}(obj);",
            f"        if (mod{other}_is_ready(obj)) {{",
            f'            total += mod{other}_op{native_op}(obj, 0, "x", &err);',
            "        }",
            "        if (err) {",
            "            g_error_free(err);",
            "            err = NULL;",
            "            break;",
            "        }",
            "    }",
            "    switch (obj->state) {",
            *cases,
            "    default:",
            f"        total -= unit{number}_compute(2);",
            "    }",
            "    return total;",
            "}",
        ]
    lines += [f"int unit{number}_main(Mod{module} *obj)", "{", "    int total = 0;"]
    lines += [f"    total += unit{number}_helper{function}(NULL, {function});" for function in range(56)]
    lines += ["    return total;", "}"]
    return "\n".join(lines) + "\n"


def generate(root: Path, units: int, headers: int, seed: int) -> None:
    rng = random.Random(seed)
    (root / "include" / "qemu").mkdir(parents=True, exist_ok=True)
    (root / "include" / "mod").mkdir(parents=True, exist_ok=True)
    (root / "include" / "qemu" / "osdep.h").write_text(OSDEP_H)
    (root / "include" / "qemu" / "coroutine.h").write_text(COROUTINE_H)
    for number in range(headers):
        (root / "include" / "mod" / f"mod{number}.h").write_text(module_header(number, rng))
    (root / "include" / "group").mkdir(exist_ok=True)
    for group in range(GROUPS):
        prototypes = "".join(f"int group{group}_get{n}(const char *key, GError **errp);\n" for n in range(6))
        text = f"#ifndef GROUP{group}_H\n#define GROUP{group}_H\n{prototypes}#endif\n"
        (root / "include" / "group" / f"group{group}.h").write_text(text)
    glib = subprocess.run(["pkg-config", "--cflags", "glib-2.0"], capture_output=True, text=True, check=True)
    entries = []
    for number in range(units):
        directory = root / f"sub{number % 8}"
        directory.mkdir(exist_ok=True)
        source = directory / f"unit{number}.c"
        source.write_text(unit_source(number, units, headers, rng))
        arguments = ["gcc", "-std=gnu11", "-O2", f"-I{root / 'include'}", *shlex.split(glib.stdout),
                     "-c", source.name, "-o", f"unit{number}.o"]
        entries.append({"directory": str(directory), "arguments": arguments, "file": source.name})
    (root / "compile_commands.json").write_text(json.dumps(entries, indent=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="where to write the tree (created)")
    parser.add_argument("--units", type=int, default=160)
    parser.add_argument("--headers", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    try:
        generate(args.root.resolve(), args.units, args.headers, args.seed)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"qemu_shaped_tree: {error} (needs pkg-config and libglib2.0-dev)", file=sys.stderr)
        return 2
    entry = json.loads((args.root / "compile_commands.json").read_text())[0]
    command = [a for a in entry["arguments"] if a not in ("-c", "-o") and not a.endswith(".o")] + ["-E"]
    text = subprocess.run(command, cwd=entry["directory"], capture_output=True, text=True).stdout
    print(f"{args.units} units in {args.root}; the first preprocesses to {text.count(chr(10)):,} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
