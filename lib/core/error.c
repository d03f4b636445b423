/* Status names, the thread-local error message, and the version. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Every status with its text. Each entry is checked against the public
 * enum at compile time, so names, texts and values cannot drift apart. */
#define STATUS_LIST(X)                                                         \
    X(OK, 0, "success")                                                      \
    X(ERR_INVALID_ARGUMENT, -1, "invalid argument")                          \
    X(ERR_SHAPE, -2, "wrong shape")                                          \
    X(ERR_NONFINITE, -3, "non-finite value in input")                        \
    X(ERR_EMPTY, -4, "empty input")                                          \
    X(ERR_UNKNOWN_PARAM, -5, "unknown parameter")                            \
    X(ERR_PARAM_VALUE, -6, "bad parameter value")                            \
    X(ERR_NOT_FITTED, -7, "not fitted")                                      \
    X(ERR_NO_MEMORY, -8, "out of memory")                                    \
    X(ERR_IO, -9, "input/output error")                                      \
    X(ERR_FORMAT, -10, "corrupt or invalid model file")                      \
    X(ERR_VERSION, -11, "unsupported model file version")                    \
    X(ERR_UNKNOWN_NAME, -12, "unknown component name")                       \
    X(ERR_BUFFER_TOO_SMALL, -13, "output buffer too small")                  \
    X(ERR_PARSE, -14, "cannot parse input")                                  \
    X(ERR_UNSUPPORTED, -15, "operation not supported")                       \
    X(ERR_INTERNAL, -16, "internal error")                                   \
    X(ERR_CANCELLED, -17, "cancelled by a progress callback")

#define CHECK_VALUE_(name, value, text) _Static_assert(ANOMA_##name == (value), #name);
STATUS_LIST(CHECK_VALUE_)
#undef CHECK_VALUE_

static _Thread_local char last_message[512];

anoma_status an_error(anoma_status status, const char *fmt, ...)
{
    /* Format aside first: the arguments may include anoma_last_error(). */
    char message[sizeof last_message];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    memcpy(last_message, message, sizeof message);
    return status;
}

const char *anoma_last_error(void) { return last_message; }

void anoma_clear_error(void) { last_message[0] = '\0'; }

const char *anoma_status_str(anoma_status status)
{
    switch (status) {
#define AN_STATUS_NAME_(name, value, text)                                     \
    case ANOMA_##name:                                                         \
        return "ANOMA_" #name;
        STATUS_LIST(AN_STATUS_NAME_)
#undef AN_STATUS_NAME_
    }
    return "ANOMA_UNKNOWN_STATUS";
}

const char *anoma_status_text(anoma_status status)
{
    switch (status) {
#define AN_STATUS_TEXT_(name, value, text)                                     \
    case ANOMA_##name:                                                         \
        return text;
        STATUS_LIST(AN_STATUS_TEXT_)
#undef AN_STATUS_TEXT_
    }
    return "unknown status";
}

#define AN_STR_(x) #x
#define AN_STR(x) AN_STR_(x)

const char *anoma_version(void)
{
    return AN_STR(ANOMA_VERSION_MAJOR) "." AN_STR(ANOMA_VERSION_MINOR) "." AN_STR(
        ANOMA_VERSION_PATCH);
}

int anoma_version_number(void) { return ANOMA_VERSION_NUMBER; }
