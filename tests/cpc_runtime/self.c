/*
 * qemu_coroutine_self / qemu_in_coroutine through the hidden continuation
 * argument: coroutine code passes its continuation, native code NULL (also
 * native code called from a coroutine).  A parent coroutine enters a child
 * (nesting), both yield, and each must see itself.  Hand-translated
 * following cpc_runtime.h.
 *
 * Original:
 *
 *   struct probe { Coroutine *self, *native_self, *self_after_yield;
 *                  bool in, native_in; };
 *
 *   static void native_probe(struct probe *p)       // native code
 *   {
 *       p->native_self = qemu_coroutine_self();
 *       p->native_in = qemu_in_coroutine();
 *   }
 *
 *   static void coroutine_fn child(void *opaque)
 *   {
 *       struct probe *p = opaque;
 *       p->self = qemu_coroutine_self();
 *       p->in = qemu_in_coroutine();
 *       native_probe(p);
 *       qemu_coroutine_yield();
 *       p->self_after_yield = qemu_coroutine_self();
 *   }
 *
 *   struct family { struct probe parent, child; Coroutine *child_co; };
 *
 *   static void coroutine_fn parent(void *opaque)
 *   {
 *       struct family *f = opaque;
 *       f->child_co = qemu_coroutine_create(child);
 *       qemu_coroutine_enter(f->child_co, &f->child);  // child yields
 *       f->parent.self = qemu_coroutine_self();
 *       f->parent.in = qemu_in_coroutine();
 *       native_probe(&f->parent);
 *       qemu_coroutine_yield();
 *       f->parent.self_after_yield = qemu_coroutine_self();
 *       qemu_coroutine_enter(f->child_co, &f->child);  // child finishes
 *   }
 *
 * (qemu_coroutine_enter and _create are native: called directly, the child
 * runs in a nested trampoline and the call returns when it yields.)
 */
#include "cps_coroutine.h"

#include <stdio.h>

struct probe {
    Coroutine *self;
    Coroutine *native_self;
    Coroutine *self_after_yield;
    bool in;
    bool native_in;
};

struct family {
    struct probe parent;
    struct probe child;
    Coroutine *child_co;
};

static void native_probe(struct probe *p)
{
    p->native_self = qemu_coroutine_self(NULL);
    p->native_in = qemu_in_coroutine(NULL);
}

struct child_args { void *opaque; };
struct child__p1_args { struct probe *p; };
static cpc_cont *child__p1(cpc_cont *k);

static cpc_cont *child(cpc_cont *k)
{
    struct child_args *args = cpc_pop(k, sizeof *args);
    struct probe *p = args->opaque;
    p->self = qemu_coroutine_self(k);
    p->in = qemu_in_coroutine(k);
    native_probe(p);
    struct child__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, child__p1);
    p1->p = p;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *child__p1(cpc_cont *k)
{
    struct child__p1_args *args = cpc_pop(k, sizeof *args);
    struct probe *p = args->p;
    p->self_after_yield = qemu_coroutine_self(k);
    return k;
}

struct parent_args { void *opaque; };
struct parent__p1_args { struct family *f; };
static cpc_cont *parent__p1(cpc_cont *k);

static cpc_cont *parent(cpc_cont *k)
{
    struct parent_args *args = cpc_pop(k, sizeof *args);
    struct family *f = args->opaque;
    f->child_co = qemu_coroutine_create(child);
    qemu_coroutine_enter(f->child_co, &f->child);
    f->parent.self = qemu_coroutine_self(k);
    f->parent.in = qemu_in_coroutine(k);
    native_probe(&f->parent);
    struct parent__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, parent__p1);
    p1->f = f;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *parent__p1(cpc_cont *k)
{
    struct parent__p1_args *args = cpc_pop(k, sizeof *args);
    struct family *f = args->f;
    f->parent.self_after_yield = qemu_coroutine_self(k);
    qemu_coroutine_enter(f->child_co, &f->child);
    return k;
}

static const char *yes(bool b)
{
    return b ? "yes" : "no";
}

int main(void)
{
    struct family f = { 0 };
    Coroutine *leader = qemu_coroutine_self(NULL);
    printf("main in coroutine: %s\n", yes(qemu_in_coroutine(NULL)));

    Coroutine *parent_co = qemu_coroutine_create(parent);
    qemu_coroutine_enter(parent_co, &f);
    printf("main is still main after a yield: %s\n",
           yes(qemu_coroutine_self(NULL) == leader && !qemu_in_coroutine(NULL)));

    printf("parent sees itself: %s\n", yes(f.parent.self == parent_co));
    printf("parent in coroutine: %s\n", yes(f.parent.in));
    printf("native code called by parent sees parent: %s\n",
           yes(f.parent.native_self == parent_co));
    printf("native code called by parent is in coroutine: %s\n", yes(f.parent.native_in));

    printf("child sees itself: %s\n",
           yes(f.child.self == f.child_co && f.child_co != parent_co));
    printf("child in coroutine: %s\n", yes(f.child.in));
    printf("native code called by child sees child: %s\n",
           yes(f.child.native_self == f.child_co));
    printf("native code called by child is in coroutine: %s\n", yes(f.child.native_in));
    printf("leader is no coroutine of ours: %s\n",
           yes(leader != parent_co && leader != f.child_co));

    Coroutine *child_co = f.child_co;
    qemu_coroutine_enter(parent_co, &f); /* parent resumes and finishes the child */
    printf("parent after yield: %s\n", yes(f.parent.self_after_yield == parent_co));
    printf("child after yield: %s\n", yes(f.child.self_after_yield == child_co));
    printf("main in coroutine at the end: %s\n", yes(qemu_in_coroutine(NULL)));
    return 0;
}
