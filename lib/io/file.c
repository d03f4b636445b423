/* Whole-file reads, and the one saving rule every writer in the library uses.
 *
 * The rule (docs/model-format.md, "Saving"): a regular file or a new path is
 * replaced atomically — the bytes go to a temporary file beside it, which is
 * flushed and renamed over it, so a crash or a full disk leaves the old file
 * (or none), never a half-written one — and the replacement keeps the old
 * file's permission bits (and owner, where the process may set it). A
 * symbolic link is followed, through chains, and its final target is
 * replaced in the target's own directory. A directory, device, FIFO or
 * socket is refused: renaming over it would destroy it (as root, over
 * /dev/null) or silently turn it into a regular file. */
#include "io/format.h"
#include "anoma/file.h"
#include "core/alloc.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* As the kernel's own limit on links followed in one lookup (MAXSYMLINKS). */
#define MAX_LINK_HOPS 40
/* Temporary names are "<target>.tmp.<16 hex digits>"; a clash is retried. */
#define TEMP_MARK ".tmp."
#define TEMP_HEX_DIGITS 16
#define TEMP_ATTEMPTS 64
/* A temporary file untouched this long belongs to a save that died: a live
 * save writes to its file without pause, then renames it within seconds. */
#define STALE_TEMP_SECONDS (60 * 60)

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

/* The directory part of path ("." when it has none), as a new allocation. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return an_strdup(".");
    return an_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Make the rename itself durable. Best effort: some file systems refuse
 * fsync on a directory, and the data is already safe in the file. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* A link's text taken relative to the directory of the link itself. */
static char *link_target(const char *link, const char *text)
{
    if (text[0] == '/')
        return an_strdup(text);
    const char *slash = strrchr(link, '/');
    size_t dir_len = slash ? (size_t)(slash - link) + 1 : 0;
    size_t text_len = strlen(text);
    char *joined = an_malloc(dir_len + text_len + 1);
    if (joined) {
        memcpy(joined, link, dir_len);
        memcpy(joined + dir_len, text, text_len + 1);
    }
    return joined;
}

/* Where a save to `path` writes: path itself, or the end of its chain of
 * symbolic links (*target, a new allocation). *exists says whether a
 * regular file is there now (then *st describes it). Anything else that is
 * there is refused. */
static anoma_status resolve_target(const char *path, char **target, struct stat *st, int *exists)
{
    *exists = 0;
    char *at = an_strdup(path);
    if (!at)
        return an_no_memory();
    for (int hops = 0;; hops++) {
        if (lstat(at, st) != 0) {
            if (errno == ENOENT) { /* a new file; a missing directory fails at create */
                *target = at;
                return ANOMA_OK;
            }
            anoma_status status = io_error("examine", at, errno);
            an_free(at);
            return status;
        }
        if (S_ISREG(st->st_mode)) {
            *exists = 1;
            *target = at;
            return ANOMA_OK;
        }
        if (!S_ISLNK(st->st_mode)) {
            anoma_status status =
                strcmp(at, path) == 0
                    ? an_error(ANOMA_ERR_IO, "'%s' is %s; refusing to replace it", path,
                               kind_of(st->st_mode))
                    : an_error(ANOMA_ERR_IO, "'%s' leads to '%s', which is %s; refusing to "
                               "replace it", path, at, kind_of(st->st_mode));
            an_free(at);
            return status;
        }
        if (hops == MAX_LINK_HOPS) {
            an_free(at);
            return an_error(ANOMA_ERR_IO, "cannot save to '%s': more than %d symbolic links "
                            "in a chain (a loop?)", path, MAX_LINK_HOPS);
        }
        char text[PATH_MAX];
        ssize_t n = readlink(at, text, sizeof text);
        if (n < 0 || (size_t)n >= sizeof text) {
            anoma_status status = io_error("read the symbolic link", at, n < 0 ? errno : ENAMETOOLONG);
            an_free(at);
            return status;
        }
        text[n] = '\0';
        char *next = link_target(at, text);
        an_free(at);
        if (!next)
            return an_no_memory();
        at = next;
    }
}

/* Fresh bits for a temporary name: the kernel's random source, else a mix of
 * the clock, the process and a counter (names then still differ, and a
 * clash is only retried). */
static uint64_t temp_suffix(void)
{
    static atomic_uint_fast64_t counter;
    uint64_t bits;
    if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) == (ssize_t)sizeof bits)
        return bits;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 40) ^
                 (atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u; /* splitmix64 finaliser */
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static int all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i]))
            return 0;
    return n > 0;
}

/* Whether `name` is a temporary file of a save to `base`: "<base>.tmp."
 * then 16 hex digits, or the "<pid>.<counter>" suffix of libanoma 0.1. */
static int is_temp_of(const char *name, const char *base)
{
    size_t base_len = strlen(base), mark_len = strlen(TEMP_MARK);
    if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, TEMP_MARK, mark_len) != 0)
        return 0;
    const char *suffix = name + base_len + mark_len;
    size_t n = strlen(suffix);
    if (n == TEMP_HEX_DIGITS && all_of(suffix, n, "0123456789abcdef"))
        return 1;
    const char *dot = strchr(suffix, '.');
    return dot && all_of(suffix, (size_t)(dot - suffix), "0123456789") &&
           all_of(dot + 1, strlen(dot + 1), "0123456789");
}

/* Remove temporary files of earlier saves to this target that were killed
 * before they could clean up. Best effort: a failure here never fails the
 * save. */
static void remove_stale_temps(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (!is_temp_of(e->d_name, base) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISREG(st.st_mode) && now - st.st_mtime > STALE_TEMP_SECONDS)
            (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* Create a new temporary file beside target; *temp is its name. An existing
 * file's mode and owner are copied to it before any byte is written. */
static anoma_status create_temp(const char *target, const struct stat *old, int exists,
                                char **temp, int *fd_out)
{
    size_t cap = strlen(target) + strlen(TEMP_MARK) + TEMP_HEX_DIGITS + 1;
    char *name = an_malloc(cap);
    if (!name)
        return an_no_memory();
    /* A new file gets 0666 less the umask, as any program's; a replaced
     * file's own bits follow, and until then only the owner can read it. */
    mode_t mode = exists ? 0600 : 0666;
    int fd = -1;
    for (int attempt = 0; attempt < TEMP_ATTEMPTS && fd < 0; attempt++) {
        snprintf(name, cap, "%s" TEMP_MARK "%016llx", target, (unsigned long long)temp_suffix());
        fd = open(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        anoma_status status = io_error("create", name, errno);
        an_free(name);
        return status;
    }
    if (exists) {
        /* The owner first: changing it clears set-user-ID bits. Only root
         * may give a file away, so a failure there is expected. */
        if (old->st_uid != geteuid() || old->st_gid != getegid())
            (void)fchown(fd, old->st_uid, old->st_gid);
        if (fchmod(fd, old->st_mode & 07777) != 0) {
            anoma_status status = io_error("set the permissions of", name, errno);
            close(fd);
            unlink(name);
            an_free(name);
            return status;
        }
    }
    *temp = name;
    *fd_out = fd;
    return ANOMA_OK;
}

anoma_status an_file_write_atomic(const char *path, const void *data, size_t size)
{
    if (!path || !*path || (!data && size > 0))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_file_write_atomic: no path or no data");

    char *target = NULL, *dir = NULL, *temp = NULL;
    struct stat old;
    int exists, fd = -1;
    AN_TRY(resolve_target(path, &target, &old, &exists));
    dir = dir_of(target);
    anoma_status status = dir ? ANOMA_OK : an_no_memory();
    if (status == ANOMA_OK) {
        const char *slash = strrchr(target, '/');
        remove_stale_temps(dir, slash ? slash + 1 : target);
        status = create_temp(target, &old, exists, &temp, &fd);
    }
    if (status == ANOMA_OK) {
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
        if (!failed && rename(temp, target) != 0) {
            failed = "rename a temporary file over";
            err = errno;
        }
        if (failed) {
            unlink(temp);
            status = io_error(failed, target, err);
        } else {
            sync_dir(dir);
        }
    }
    an_free(temp);
    an_free(dir);
    an_free(target);
    return status;
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

anoma_status anoma_file_write_atomic(const char *path, const void *data, size_t size)
{
    return an_file_write_atomic(path, data, size);
}
