/*
 * queue.h — intrusive singly linked lists and tail queues.
 *
 * QSLIST: a singly linked list (push/pop at the head).
 * QSIMPLEQ: a singly linked tail queue (insert at the tail, remove at the
 * head) — the FIFO used by every wait queue.
 *
 * The layout matters: struct Coroutine embeds them, and the cpc backend
 * relies on QSLIST_ENTRY being one pointer and QSIMPLEQ_HEAD being
 * { first, **last }.
 */
#ifndef QEMU_QUEUE_H
#define QEMU_QUEUE_H

#include <stddef.h>

#define QSLIST_HEAD(name, type) struct name { struct type *slh_first; }
#define QSLIST_ENTRY(type) struct { struct type *sle_next; }
#define QSLIST_HEAD_INITIALIZER { NULL }
#define QSLIST_INIT(head) ((head)->slh_first = NULL)
#define QSLIST_EMPTY(head) ((head)->slh_first == NULL)
#define QSLIST_FIRST(head) ((head)->slh_first)
#define QSLIST_NEXT(elm, field) ((elm)->field.sle_next)
#define QSLIST_INSERT_HEAD(head, elm, field) do {                         \
        (elm)->field.sle_next = (head)->slh_first;                        \
        (head)->slh_first = (elm);                                        \
    } while (0)
#define QSLIST_REMOVE_HEAD(head, field) do {                              \
        (head)->slh_first = (head)->slh_first->field.sle_next;            \
    } while (0)
#define QSLIST_FOREACH(var, head, field)                                  \
    for ((var) = (head)->slh_first; (var); (var) = (var)->field.sle_next)

#define QSIMPLEQ_HEAD(name, type)                                         \
    struct name { struct type *sqh_first; struct type **sqh_last; }
#define QSIMPLEQ_ENTRY(type) struct { struct type *sqe_next; }
#define QSIMPLEQ_HEAD_INITIALIZER(head) { NULL, &(head).sqh_first }
#define QSIMPLEQ_INIT(head) do {                                          \
        (head)->sqh_first = NULL;                                         \
        (head)->sqh_last = &(head)->sqh_first;                            \
    } while (0)
#define QSIMPLEQ_EMPTY(head) ((head)->sqh_first == NULL)
#define QSIMPLEQ_FIRST(head) ((head)->sqh_first)
#define QSIMPLEQ_NEXT(elm, field) ((elm)->field.sqe_next)
#define QSIMPLEQ_INSERT_TAIL(head, elm, field) do {                       \
        (elm)->field.sqe_next = NULL;                                     \
        *(head)->sqh_last = (elm);                                        \
        (head)->sqh_last = &(elm)->field.sqe_next;                        \
    } while (0)
#define QSIMPLEQ_INSERT_HEAD(head, elm, field) do {                       \
        if (((elm)->field.sqe_next = (head)->sqh_first) == NULL) {        \
            (head)->sqh_last = &(elm)->field.sqe_next;                    \
        }                                                                 \
        (head)->sqh_first = (elm);                                        \
    } while (0)
#define QSIMPLEQ_REMOVE_HEAD(head, field) do {                            \
        if (((head)->sqh_first = (head)->sqh_first->field.sqe_next) == NULL) { \
            (head)->sqh_last = &(head)->sqh_first;                        \
        }                                                                 \
    } while (0)
#define QSIMPLEQ_FOREACH(var, head, field)                                \
    for ((var) = (head)->sqh_first; (var); (var) = (var)->field.sqe_next)
/* Move every element of head2 to the tail of head1, leaving head2 empty. */
#define QSIMPLEQ_CONCAT(head1, head2) do {                                \
        if (!QSIMPLEQ_EMPTY((head2))) {                                   \
            *(head1)->sqh_last = (head2)->sqh_first;                      \
            (head1)->sqh_last = (head2)->sqh_last;                        \
            QSIMPLEQ_INIT((head2));                                       \
        }                                                                 \
    } while (0)

#endif
