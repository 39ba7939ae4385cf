/* Stand-in for the 2013 port's coroutine-cpc.c, written for the original
 * CPC runtime: `coroproj backend qemu-1.6` replaces it. */
#error "the original runtime's backend: not for coroproj"
