/**
 * @file common.h
 * @brief Status codes, error messages, versions and the pluggable allocator.
 *
 * Every fallible libanoma call returns an ::anoma_status. ::ANOMA_OK is zero
 * and every error is negative. The detail of the last error on the calling
 * thread is read with anoma_last_error(). No libanoma call prints, aborts or
 * exits.
 */
#ifndef ANOMA_COMMON_H
#define ANOMA_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a symbol exported from the shared library. */
#if defined(ANOMA_BUILDING) && defined(__GNUC__)
#define ANOMA_API __attribute__((visibility("default")))
#else
#define ANOMA_API
#endif

/** Major version: changes break the API or the ABI. @since 0.1.0 */
#define ANOMA_VERSION_MAJOR 0
/** Minor version: additions that keep the ABI. @since 0.1.0 */
#define ANOMA_VERSION_MINOR 1
/** Patch version: fixes only. @since 0.1.0 */
#define ANOMA_VERSION_PATCH 0
/** The version as one number, major*10000 + minor*100 + patch. @since 0.1.0 */
#define ANOMA_VERSION_NUMBER                                                   \
    (ANOMA_VERSION_MAJOR * 10000 + ANOMA_VERSION_MINOR * 100 + ANOMA_VERSION_PATCH)

/** Result of every fallible call: ::ANOMA_OK or a negative error. @since 0.1.0 */
typedef enum anoma_status {
    ANOMA_OK = 0, /**< success */
    ANOMA_ERR_INVALID_ARGUMENT = -1, /**< invalid argument */
    ANOMA_ERR_SHAPE = -2, /**< wrong shape */
    ANOMA_ERR_NONFINITE = -3, /**< non-finite value in input */
    ANOMA_ERR_EMPTY = -4, /**< empty input */
    ANOMA_ERR_UNKNOWN_PARAM = -5, /**< unknown parameter */
    ANOMA_ERR_PARAM_VALUE = -6, /**< bad parameter value */
    ANOMA_ERR_NOT_FITTED = -7, /**< not fitted */
    ANOMA_ERR_NO_MEMORY = -8, /**< out of memory */
    ANOMA_ERR_IO = -9, /**< input/output error */
    ANOMA_ERR_FORMAT = -10, /**< corrupt or invalid model file */
    ANOMA_ERR_VERSION = -11, /**< unsupported model file version */
    ANOMA_ERR_UNKNOWN_NAME = -12, /**< unknown component name */
    ANOMA_ERR_BUFFER_TOO_SMALL = -13, /**< output buffer too small */
    ANOMA_ERR_PARSE = -14, /**< cannot parse input */
    ANOMA_ERR_UNSUPPORTED = -15, /**< operation not supported */
    ANOMA_ERR_INTERNAL = -16, /**< internal error */
    ANOMA_ERR_CANCELLED = -17, /**< cancelled by a progress callback (since 0.2.0) */
} anoma_status;

/**
 * @brief Name of a status code, such as "ANOMA_ERR_SHAPE".
 * @param status any value; unknown values give "ANOMA_UNKNOWN_STATUS".
 * @return a static string; never NULL. Thread-safe.
 * @since 0.1.0
 */
ANOMA_API const char *anoma_status_str(anoma_status status);

/**
 * @brief One-line description of a status code, such as "wrong shape".
 * @return a static string; never NULL. Thread-safe.
 * @since 0.1.0
 */
ANOMA_API const char *anoma_status_text(anoma_status status);

/**
 * @brief Detail of the last error raised on the calling thread.
 *
 * The message names what was wrong (the parameter, the row and column, the
 * file offset). It is kept until the next failing call on the same thread;
 * successful calls do not clear it.
 * @return a thread-local string owned by the library; "" when no error
 *         happened yet. Never NULL.
 * @since 0.1.0
 */
ANOMA_API const char *anoma_last_error(void);

/**
 * @brief Forget the last error message of the calling thread.
 * @since 0.1.0
 */
ANOMA_API void anoma_clear_error(void);

/**
 * @brief Library version as text, "major.minor.patch".
 * @return a static string. Thread-safe.
 * @since 0.1.0
 */
ANOMA_API const char *anoma_version(void);

/**
 * @brief Library version as ANOMA_VERSION_NUMBER of the library that is
 * loaded (which may differ from the header the caller was compiled with).
 * @since 0.1.0
 */
ANOMA_API int anoma_version_number(void);

/** Host allocation functions: every libanoma allocation goes through these. */
typedef struct anoma_allocator {
    /** Like malloc(size); may return NULL. */
    void *(*malloc_fn)(void *user, size_t size);
    /** Like realloc(ptr, size); may return NULL, leaving ptr valid. */
    void *(*realloc_fn)(void *user, void *ptr, size_t size);
    /** Like free(ptr); must accept NULL. */
    void (*free_fn)(void *user, void *ptr);
    /** Passed back to each function. */
    void *user;
} anoma_allocator;

/**
 * @brief Replace the allocator used for every allocation of the library.
 *
 * Call before any other libanoma call and before any object exists: objects
 * allocated with one allocator must not be freed with another.
 * @param allocator the three functions and their user pointer; NULL restores
 *        the C library's malloc, realloc and free.
 * @return ::ANOMA_OK, or ::ANOMA_ERR_INVALID_ARGUMENT if a function is NULL.
 * @note Not thread-safe: call once, at start-up.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_set_allocator(const anoma_allocator *allocator);

/**
 * @brief Stop the library's worker threads.
 *
 * Fitting and batch scoring share work out to a pool of worker threads that
 * starts on the first call that wants more than one thread, grows to the
 * largest thread count asked for, and sleeps between calls, so that a call
 * pays a wake-up instead of starting threads. The pool is stopped and its
 * threads joined when the library is unloaded (or the process exits); call
 * this to release them earlier, for example before a host checks for
 * leaked threads or changes resource limits. The next call that needs
 * threads starts the pool again. Calls running in other threads at that
 * moment finish correctly, on their own threads. A child process created
 * by fork() starts with no workers.
 * @note Thread-safe. Never call it from inside a callback of the library.
 * @since 0.2.0
 */
ANOMA_API void anoma_shutdown(void);

/** anoma_thread_set_n_threads(): the calling thread takes each model's own
 *  thread count again. @since 0.2.0 */
#define ANOMA_N_THREADS_OF_MODEL ((size_t)-1)

/**
 * @brief Set the thread count of the calls the calling thread makes.
 *
 * Fits, batch scores and transforms started by the calling thread then
 * share their work out to n_threads threads, whatever the model's own
 * count (anoma_model_set_n_threads(), or `n_threads=` at creation), until
 * the thread calls this again; ::ANOMA_N_THREADS_OF_MODEL gives the choice
 * back to each model. A model shared by several host threads must not be
 * changed while they use it, so this is how each of them picks its own
 * count for one call or for all of its calls: a server's request threads 1
 * each, a batch job on the same model all cores. The count is the
 * calling thread's only: other threads, and the library's pool workers,
 * are not affected. As for the model's count, results never depend on it,
 * and the row scorer (always single-threaded) ignores it.
 * @param n_threads 0 = as many as the machine has cores; at most 1024; or
 *        ::ANOMA_N_THREADS_OF_MODEL.
 * @return ::ANOMA_OK; ::ANOMA_ERR_PARAM_VALUE above 1024 (other than
 *         ::ANOMA_N_THREADS_OF_MODEL), leaving the count as it was.
 * @note Thread-safe: it changes the calling thread's setting only.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_thread_set_n_threads(size_t n_threads);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_COMMON_H */
