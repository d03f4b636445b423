/* Whole-file reads and crash-safe writes for model files.
 *
 * A save writes a temporary file beside the target and renames it over the
 * target, so a crash or a full disk mid-save leaves the old file (or none),
 * never a half-written one. */
#include "io/format.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Distinguishes temporary files of concurrent saves in one process. */
static atomic_uint temp_counter;

static anoma_status io_error(const char *action, const char *path, int err)
{
    return an_error(ANOMA_ERR_IO, "cannot %s %s: %s", action, path, strerror(err));
}

static int write_all(int fd, const unsigned char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/* Make the rename itself durable. Best effort: some file systems refuse
 * fsync on a directory, and the data is already safe in the file. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = an_strdup(".");
    else
        dir = an_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    an_free(dir);
}

anoma_status an_file_write_atomic(const char *path, const void *data, size_t size)
{
    if (!path || !*path || (!data && size > 0))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_file_write_atomic: no path or no data");

    size_t cap = strlen(path) + 64;
    char *temp = an_malloc(cap);
    if (!temp)
        return an_no_memory();
    snprintf(temp, cap, "%s.tmp.%ld.%u", path, (long)getpid(),
             atomic_fetch_add(&temp_counter, 1u));

    int fd = open(temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        anoma_status status = io_error("create", temp, errno);
        an_free(temp);
        return status;
    }

    const char *failed = NULL;
    if (write_all(fd, data, size) != 0)
        failed = "write";
    else if (fsync(fd) != 0)
        failed = "sync";
    int err = errno;
    if (close(fd) != 0 && !failed) {
        failed = "close";
        err = errno;
    }
    if (!failed && rename(temp, path) != 0) {
        failed = "rename a temporary file over";
        err = errno;
    }
    if (failed) {
        unlink(temp);
        an_free(temp);
        return io_error(failed, path, err);
    }
    an_free(temp);
    sync_parent_dir(path);
    return ANOMA_OK;
}

/* Read exactly size bytes; fails on a read error or an early end of file. */
static int read_all(int fd, unsigned char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = read(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO; /* the file shrank while being read */
            return -1;
        }
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

anoma_status an_file_read(const char *path, size_t max, unsigned char **data, size_t *size)
{
    if (!data || !size)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_file_read: NULL output");
    *data = NULL;
    *size = 0;
    if (!path)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_file_read: path is NULL");

    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return io_error("open", path, errno);

    anoma_status status = ANOMA_OK;
    unsigned char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        status = io_error("stat", path, errno);
    } else if (S_ISDIR(st.st_mode)) {
        status = an_error(ANOMA_ERR_IO, "cannot read %s: it is a directory", path);
    } else if (!S_ISREG(st.st_mode)) {
        status = an_error(ANOMA_ERR_IO, "cannot read %s: not a regular file", path);
    } else if ((uint64_t)st.st_size > (uint64_t)max) {
        status = an_error(ANOMA_ERR_FORMAT, "%s is %lld bytes, more than the %zu accepted", path,
                          (long long)st.st_size, max);
    } else {
        size_t n = (size_t)st.st_size;
        buf = an_malloc(n);
        unsigned char extra;
        if (!buf)
            status = an_no_memory();
        else if (read_all(fd, buf, n) != 0)
            status = io_error("read", path, errno);
        else if (read(fd, &extra, 1) > 0)
            status = an_error(ANOMA_ERR_IO, "cannot read %s: it grew while being read", path);
        else
            *size = n;
    }
    close(fd);
    if (status != ANOMA_OK) {
        an_free(buf);
        *size = 0;
        return status;
    }
    *data = buf;
    return ANOMA_OK;
}
