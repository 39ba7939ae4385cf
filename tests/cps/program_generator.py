"""Random coroutine programs for differential testing of the CPS translator.

``batch_source(seed, count)`` returns one C file holding ``count``
independent programs (prefixed ``p<N>_``) and a ``main`` running them in
turn.  Each program has a few coroutine functions of several return types
(int, long, double, char, unsigned short, a struct) calling each other —
with recursion bounded by a ``depth`` parameter, indirect calls through a
table of coroutine pointers, calls nested in ``&&``/``||``/``?:``/``,`` and
arguments, implicit conversions of results — and control flow of every
kind (loops, ``switch`` with fall-through and case ranges, forward and
backward ``goto``, ``break``/``continue``, early returns), address-taken
locals and local arrays, yields everywhere.  Several coroutines run each
program's entry concurrently, interleaving through yields, a ``CoMutex``
and a ``CoQueue``; every step prints a trace line.

Expressions never hold two calls in operands whose order C leaves
unspecified, and all arithmetic stays small (no overflow), so any
conforming compilation prints the same trace.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

RETURN_TYPES = ("int", "long", "double", "char", "unsigned short", "struct pair", "const int *")

PRELUDE = """\
#include "colock.h"

#include <stdio.h>

struct pair {
    int a;
    long b;
};

typedef struct co_state {
    int id;
    int blocked;
    int finished;
} co_state;

static const int cells[8] = { 3, 14, 15, 92, 65, 35, 89, 79 };

static CoMutex shared_lock;
static CoQueue shared_queue;

static void coroutine_fn bump(int *p, int k)
{
    qemu_coroutine_yield();
    *p = (*p + k) & 1023;
}

static void run_coroutines(CoroutineEntry *entry, int n)
{
    co_state states[4];
    Coroutine *cos[4];
    int alive = n;

    for (int i = 0; i < n; i++) {
        states[i] = (co_state){ .id = i, .blocked = 0, .finished = 0 };
        cos[i] = qemu_coroutine_create(entry);
    }
    for (int round = 0; alive > 0; round++) {
        for (int i = 0; i < n; i++) {
            if (!states[i].finished && !states[i].blocked) {
                qemu_coroutine_enter(cos[i], &states[i]);
                co_run_ready();
            }
        }
        qemu_co_queue_restart_all(&shared_queue);
        co_run_ready();
        alive = 0;
        for (int i = 0; i < n; i++) {
            alive += !states[i].finished;
        }
        if (round > 100000) {
            printf("stuck\\n");
            break;
        }
    }
}
"""


def to_int(call: str, rtype: str) -> str:
    """An int in [0, 1023] from a value of ``rtype``."""
    return {
        "int": f"({call} & 1023)",
        "long": f"(int)({call} % 1024)",
        "double": f"((int)({call}) & 1023)",
        "char": f"({call} & 63)",
        "unsigned short": f"({call} & 1023)",
        "struct pair": f"({call}.a & 1023)",
        "const int *": f"(*{call} & 1023)",
    }[rtype]


def return_expression(value: str, rtype: str) -> str:
    return {
        "int": value,
        "long": f"(long)({value}) * 1000003L",
        "double": f"({value}) * 0.5",
        "char": f"(char)(({value}) & 63)",
        "unsigned short": f"(unsigned short)({value})",
        "struct pair": f"(struct pair){{ {value}, (long)({value}) * 7L }}",
        "const int *": f"&cells[({value}) & 7]",
    }[rtype]


@dataclass
class Function:
    index: int
    rtype: str
    name: str


@dataclass
class ProgramGenerator:
    rng: random.Random
    prefix: str
    functions: list[Function] = field(default_factory=list)
    counter: int = 0
    current: Function | None = None
    locals: list[str] = field(default_factory=list)
    arrays: list[str] = field(default_factory=list)
    loop_depth: int = 0
    labels_after: list[str] = field(default_factory=list)

    def fresh(self, base: str) -> str:
        self.counter += 1
        return f"{base}{self.counter}"

    # -- expressions ---------------------------------------------------
    def leaf(self) -> str:
        choice = self.rng.random()
        if choice < 0.5 and self.locals:
            return self.rng.choice(self.locals)
        if choice < 0.6 and self.arrays:
            return f"{self.rng.choice(self.arrays)}[{self.rng.choice(self.locals or ['0'])} & 3]"
        if choice < 0.7:
            return "a"
        return str(self.rng.randrange(0, 100))

    def call(self, depth: int) -> str:
        assert self.current is not None
        candidates = [f for f in self.functions if f.index < self.current.index]
        argument, _ = self.expr(depth - 1, allow_call=False)
        roll = self.rng.random()
        int_targets = [f for f in candidates if f.rtype == "int"]
        if roll < 0.2 and int_targets:
            table = [f.name for f in self.functions if f.rtype == "int"]
            position = table.index(self.rng.choice(int_targets).name)
            callee = f"{self.prefix}table[{position}]"
            rtype = "int"
        elif roll < 0.35 or not candidates:
            callee, rtype = self.current.name, self.current.rtype
        else:
            target = self.rng.choice(candidates)
            callee, rtype = target.name, target.rtype
        invoke = f"{callee}(depth - 1, {argument})"
        return f"(depth > 0 ? {to_int(invoke, rtype)} : {argument})"

    def expr(self, depth: int, allow_call: bool = True) -> tuple[str, bool]:
        """(C text in [0, 1023], whether it contains a coroutine call)."""
        if depth <= 0:
            return self.leaf(), False
        roll = self.rng.random()
        if allow_call and roll < 0.25:
            return self.call(depth), True
        if roll < 0.55:
            left_calls = allow_call and self.rng.random() < 0.5
            left, lc = self.expr(depth - 1, left_calls)
            right, rc = self.expr(depth - 1, allow_call and not lc)
            op = self.rng.choice(["+", "-", "*", "^", "|", "&"])
            return f"(({left} {op} {right}) & 1023)", lc or rc
        if roll < 0.7:
            left, lc = self.expr(depth - 1, allow_call)
            right, rc = self.expr(depth - 1, allow_call)
            op = self.rng.choice(["&&", "||"])
            return f"({left} {op} {right})", lc or rc
        if roll < 0.8:
            cond, cc = self.expr(depth - 1, allow_call)
            then, tc = self.expr(depth - 1, allow_call)
            other, oc = self.expr(depth - 1, allow_call)
            return f"({cond} ? {then} : {other})", cc or tc or oc
        if roll < 0.82:
            value, vc = self.expr(depth - 1, allow_call)
            rest, rc = self.expr(depth - 1, allow_call and not vc)
            var = self.fresh("se")
            return f"({{ int {var} = {value}; ({var} + {rest}) & 1023; }})", vc or rc
        if roll < 0.85:
            value, vc = self.expr(depth - 1, allow_call)
            rest, rc = self.expr(depth - 1, allow_call)
            return f"((void)({value}), {rest})", vc or rc
        return self.leaf(), False

    # -- statements ----------------------------------------------------
    def statements(self, depth: int, count: int) -> list[str]:
        return [line for _ in range(count) for line in self.statement(depth)]

    def statement(self, depth: int) -> list[str]:
        rng = self.rng
        roll = rng.random()
        if depth <= 0 or roll < 0.3:
            return self.simple()
        if roll < 0.4:
            cond, _ = self.expr(2)
            then = self.statements(depth - 1, rng.randint(1, 2))
            other = self.statements(depth - 1, rng.randint(0, 2))
            lines = [f"if ({cond}) {{", *_indent(then), "}"]
            if other:
                lines[-1] = "} else {"
                lines += [*_indent(other), "}"]
            return lines
        if roll < 0.5:
            var = self.fresh("i")
            self.loop_depth += 1
            body = self.statements(depth - 1, rng.randint(1, 3))
            self.loop_depth -= 1
            bound = rng.randint(0, 3)
            return [
                f"for (int {var} = 0; {var} < {bound}; {var}++) {{",
                *_indent([f"t = (t + {var}) & 1023;", *body]),
                "}",
            ]
        if roll < 0.58:
            counter = self.fresh("n")
            self.loop_depth += 1
            body = self.statements(depth - 1, rng.randint(1, 2))
            self.loop_depth -= 1
            if rng.random() < 0.5:
                return [
                    f"int {counter} = {rng.randint(0, 3)};",
                    f"while ({counter}-- > 0) {{",
                    *_indent(body),
                    "}",
                ]
            return [
                f"int {counter} = {rng.randint(0, 2)};",
                "do {",
                *_indent(body),
                f"}} while ({counter}-- > 0);",
            ]
        if roll < 0.66:
            scrutinee, _ = self.expr(2)
            self.loop_depth += 0
            arms = []
            for label in ("case 0:", "case 1:", "case 2 ... 3:", "default:"):
                if label == "default:" and rng.random() < 0.3:
                    continue
                body = self.statements(depth - 1, rng.randint(0, 2))
                ending = ["break;"] if rng.random() < 0.6 else []
                arms += [label, *_indent([*body, *ending] or [";"])]
            return [f"switch ({scrutinee} & 7) {{", *arms, "}"]
        if roll < 0.72:
            label = self.fresh("skip")
            cond, _ = self.expr(2)
            body = self.statements(depth - 1, rng.randint(1, 2))
            return [f"if ({cond}) goto {label};", *body, f"{label}:;"]
        if roll < 0.78:
            label = self.fresh("again")
            counter = self.fresh("g")
            body = self.statements(depth - 1, rng.randint(1, 2))
            return [
                f"int {counter} = {rng.randint(1, 2)};",
                f"{label}:;",
                *body,
                f"if ({counter}-- > 0) goto {label};",
            ]
        if roll < 0.83 and self.loop_depth > 0:
            cond, _ = self.expr(1)
            return [f"if ({cond}) {rng.choice(['break', 'continue'])};"]
        if roll < 0.88:
            cond, _ = self.expr(1)
            value, _ = self.expr(2)
            assert self.current is not None
            return [
                f"if ({cond} > 900) {{",
                f'    TRACE("early", {value});',
                f"    return {return_expression(value, self.current.rtype)};",
                "}",
            ]
        return self.simple()

    def simple(self) -> list[str]:
        rng = self.rng
        roll = rng.random()
        candidates = [f for f in self.functions if self.current and f.index < self.current.index]
        if roll < 0.35 and self.locals:
            target = rng.choice(self.locals)
            value, _ = self.expr(3)
            return [f"{target} = {value};"]
        if roll < 0.5:
            value, _ = self.expr(2)
            return [f'TRACE("v", {value});']
        if roll < 0.55:
            return ["qemu_coroutine_yield();"]
        if roll < 0.6:
            # a struct written field by field across calls, then used whole
            var = self.fresh("sp")
            first, _ = self.expr(2)
            second, _ = self.expr(2)
            return [
                f"struct pair {var};",
                f"{var}.a = {first};",
                f"{var}.b = {second};",
                f'TRACE("sp", ({var}.a ^ (int){var}.b) & 1023);',
            ]
        if roll < 0.7 and self.locals:
            target = rng.choice(self.locals)
            value, _ = self.expr(1)
            return [f"bump(&{target}, {value});"]
        if roll < 0.8 and self.arrays:
            array = rng.choice(self.arrays)
            index, _ = self.expr(1, allow_call=False)
            value, _ = self.expr(2)
            return [f"{array}[{index} & 3] = {value};"]
        if roll < 0.9 and candidates:
            # implicit conversions of results into other types
            target = rng.choice(candidates)
            arg, _ = self.expr(1, allow_call=False)
            var = self.fresh("c")
            kind = rng.choice(["long", "double", "int", "unsigned char"])
            if target.rtype == "struct pair":
                return [
                    f"struct pair {var} = {target.name}(depth > 0 ? depth - 1 : 0, {arg});",
                    f'TRACE("s", ({var}.a + (int)({var}.b % 1000)) & 1023);',
                ]
            if target.rtype == "const int *":
                return [
                    f"const int *{var} = {target.name}(depth > 0 ? depth - 1 : 0, {arg});",
                    f'TRACE("p", {var}[0] + (int)({var} - cells));',
                ]
            return [
                f"{kind} {var} = {target.name}(depth > 0 ? depth - 1 : 0, {arg});",
                f'TRACE("conv", (int)((long)({var} * 4) % 1024));',
            ]
        if roll < 0.94:
            # an argument with a side effect on a variable live after the call
            int_targets = [f for f in candidates if f.rtype == "int"]
            if int_targets:
                target = rng.choice(int_targets)
                return [f"u = {target.name}(depth > 0 ? depth - 1 : 0, k++ & 1023) & 1023;"]
        value, _ = self.expr(2)
        return [f"t = (t + {value}) & 1023;"]

    # -- functions and programs ----------------------------------------
    def function_text(self, function: Function) -> list[str]:
        self.current = function
        self.locals = ["t", "u"]
        self.arrays = ["arr"] if self.rng.random() < 0.5 else []
        header = f"static {function.rtype} coroutine_fn {function.name}(int depth, int a)"
        body = ["int t = a;", "int u = depth;", "int k = a;  /* changed only by call arguments (k++) */"]
        if self.arrays:
            body.append("int arr[4] = { a, 1, 2, 3 };")
        body += self.statements(3, self.rng.randint(2, 5))
        final = "t ^ u ^ k" + (" ^ arr[1]" if self.arrays else "")
        body.append(f'TRACE("end", ({final}) & 1023);')
        body.append(f"return {return_expression(f'({final}) & 1023', function.rtype)};")
        return [header, "{", *_indent(body), "}", ""]

    def program(self, number: int) -> str:
        rng = self.rng
        count = rng.randint(2, 5)
        self.functions = [
            Function(i, rng.choice(RETURN_TYPES) if i else "int", f"{self.prefix}f{i}") for i in range(count)
        ]
        lines = [
            f"/* program {number} */",
            f'#define TRACE(what, v) printf("p{number} %s %d\\n", what, (int)(v))',
        ]
        for function in self.functions:
            lines.append(f"static {function.rtype} coroutine_fn {function.name}(int depth, int a);")
        int_functions = [f.name for f in self.functions if f.rtype == "int"]
        lines.append(
            f"static int coroutine_fn (*const {self.prefix}table[])(int, int) = "
            f"{{ {', '.join(int_functions)} }};"
        )
        for function in self.functions:
            lines += self.function_text(function)
        top = self.functions[-1]
        uses_lock = rng.random() < 0.5
        uses_queue = rng.random() < 0.5
        first_call = f"{top.name}({rng.randint(1, 3)}, st->id * 37 + {number % 50})"
        entry = [
            f"static void coroutine_fn {self.prefix}entry(void *opaque)",
            "{",
            "    co_state *st = opaque;",
            f"    int r = {to_int(first_call, top.rtype)};",
            '    TRACE("result", r + st->id * 10000);',
        ]
        if uses_lock:
            entry += [
                "    st->blocked = 1;",
                "    qemu_co_mutex_lock(&shared_lock);",
                "    st->blocked = 0;",
                '    TRACE("locked", st->id);',
                "    qemu_coroutine_yield();",
                f"    r = {to_int(f'{top.name}(1, r)', top.rtype)};",
                '    TRACE("unlocking", st->id * 1000 + r);',
                "    qemu_co_mutex_unlock(&shared_lock);",
            ]
        if uses_queue:
            entry += [
                "    st->blocked = 1;",
                "    qemu_co_queue_wait(&shared_queue);",
                "    st->blocked = 0;",
                '    TRACE("woken", st->id);',
            ]
        entry += ["    st->finished = 1;", "}", ""]
        lines += entry
        lines += [
            f"static void {self.prefix}run(void)",
            "{",
            f"    run_coroutines({self.prefix}entry, {rng.randint(1, 3)});",
            "}",
            "#undef TRACE",
            "",
        ]
        return "\n".join(lines)


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


WARNING_FLAGS = [
    "-Wno-implicit-fallthrough",
    "-Wno-bool-compare",
    "-Wno-int-in-bool-context",
    "-Wno-unused-function",
    "-Wno-unused-const-variable",
]
"""Style warnings random code trips on (it compares truth values with 900 ...)."""


def program_source(seed: int, number: int) -> str:
    generator = ProgramGenerator(random.Random(seed * 1_000_003 + number), f"p{number}_")
    return generator.program(number)


def batch_source(seed: int, first: int, count: int) -> str:
    """One C file with programs ``first .. first+count-1`` and a main running them in turn."""
    parts = [PRELUDE]
    numbers = range(first, first + count)
    for number in numbers:
        parts.append(program_source(seed, number))
    main = [
        "int main(void)",
        "{",
        "    qemu_co_mutex_init(&shared_lock);",
        "    qemu_co_queue_init(&shared_queue);",
    ]
    for number in numbers:
        main.append(f"    p{number}_run();")
    main += ["    return 0;", "}", ""]
    parts.append("\n".join(main))
    return "\n".join(parts)
