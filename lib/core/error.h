/* Raising errors: set the calling thread's message and return the status. */
#ifndef AN_CORE_ERROR_H
#define AN_CORE_ERROR_H

#include "anoma/common.h"

/* Record a formatted message for anoma_last_error() and return status. */
anoma_status an_error(anoma_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Shorthand for the most common failure. */
#define an_no_memory() an_error(ANOMA_ERR_NO_MEMORY, "out of memory")

/* Propagate a failing status from an expression. */
#define AN_TRY(expr)                                                           \
    do {                                                                       \
        anoma_status an_try_status_ = (expr);                                  \
        if (an_try_status_ != ANOMA_OK)                                        \
            return an_try_status_;                                             \
    } while (0)

#endif
