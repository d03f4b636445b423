/**
 * @file file.h
 * @brief Saving bytes to a file under the library's saving rule.
 *
 * Every file the library writes follows one rule, and a host (or the
 * `anoma` tool) can write its own files under the same rule:
 *
 * - a regular file or a new path is replaced atomically: the bytes go to a
 *   temporary file in the same directory, named `<path>.tmp.<16 hex
 *   digits>`, which is flushed to disk and renamed over @p path, so a crash
 *   leaves the old file or the new one, never a mix;
 * - the replacement keeps the old file's permission bits, and its owner and
 *   group where the process may set them; a new file gets 0666 less the
 *   umask;
 * - a symbolic link is followed (through at most 40 links) and the file it
 *   leads to is replaced, in that file's directory; the link stays a link;
 * - a directory, character or block device, FIFO or socket is refused with
 *   ::ANOMA_ERR_IO and a message naming what it is.
 *
 * Temporary files left by a save that was killed are removed by the next
 * save to the same target once they are an hour old.
 */
#ifndef ANOMA_FILE_H
#define ANOMA_FILE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Replace the file at @p path with @p size bytes, atomically, under
 * the saving rule above.
 *
 * @param path where to write; must not be empty.
 * @param data the bytes (may be NULL when @p size is 0); not kept.
 * @param size number of bytes.
 * @return ::ANOMA_OK; ::ANOMA_ERR_IO when the target is not a regular file
 *         or a new path, or when creating, writing, flushing or renaming
 *         fails (the message names the path; the old file is untouched and
 *         the temporary file removed); ::ANOMA_ERR_INVALID_ARGUMENT for a
 *         NULL or empty @p path, or NULL @p data with a nonzero @p size;
 *         ::ANOMA_ERR_NO_MEMORY.
 *
 * Thread safety: safe to call from several threads; concurrent saves to one
 * path leave one of the files whole.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_file_write_atomic(const char *path, const void *data, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_FILE_H */
