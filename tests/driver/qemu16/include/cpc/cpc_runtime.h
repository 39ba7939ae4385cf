/* Stand-in for the original CPC runtime's header the 2013 port carries:
 * its cpc_function type clashes with coroproj's. */
#ifndef _CPC_RUNTIME_H
#define _CPC_RUNTIME_H
typedef struct cpc_continuation {
    unsigned short length;
    unsigned short size;
    char c[1];
} cpc_continuation;
typedef cpc_continuation *cpc_function(void *);
#endif
