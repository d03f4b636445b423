/* The saving rule (include/anoma/file.h, docs/model-format.md "Saving"):
 * what a save does to each kind of thing found at the target path, and how
 * temporary files are named and cleaned. Every case runs in a fresh
 * temporary directory. */
#include "testing.h"

#include "anoma/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];
static char path_buf[8][512];
static int path_next;

/* "<dir>/<name>" in one of a few rotating buffers. */
static const char *at(const char *name)
{
    char *p = path_buf[path_next++ % 8];
    snprintf(p, sizeof path_buf[0], "%s/%s", dir, name);
    return p;
}

static int make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/anoma_file_XXXXXX");
    return mkdtemp(dir) != NULL;
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            unlinkat(dirfd(d), e->d_name, 0) != 0)
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    if (d)
        closedir(d);
    rmdir(dir);
}

static void put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode); /* whatever the umask */
}

/* Whether the file holds exactly `text`. */
static int holds(const char *path, const char *text)
{
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n == (ssize_t)strlen(text) && memcmp(buf, text, (size_t)n) == 0;
}

/* Number of entries in the directory. */
static int entries(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void test_new_and_regular_files(void)
{
    if (!make_dir()) {
        test_skip("cannot create a temporary directory");
        return;
    }
    const char *file = at("model.anoma");
    CHECK_OK(anoma_file_write_atomic(file, "first", 5));
    CHECK(holds(file, "first"));
    CHECK_OK(anoma_file_write_atomic(file, "second", 6));
    CHECK(holds(file, "second"));
    CHECK(entries() == 1);

    /* A new file gets 0666 less the umask, as open(2) would give it. */
    mode_t mask = umask(022);
    umask(mask);
    struct stat st;
    CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask));

    /* A private file stays private: the replacement keeps mode 0600 (and
     * 0640, 0755 alike). */
    static const mode_t modes[] = {0600, 0640, 0755};
    for (size_t i = 0; i < 3; i++) {
        CHECK(chmod(file, modes[i]) == 0);
        CHECK_OK(anoma_file_write_atomic(file, "third", 5));
        CHECK(stat(file, &st) == 0 && (st.st_mode & 07777) == modes[i]);
        CHECK(holds(file, "third"));
    }

    /* As root, the owner and group of the old file are kept too. */
    if (geteuid() == 0) {
        CHECK(chown(file, 4321, 8765) == 0 && chmod(file, 0640) == 0);
        CHECK_OK(anoma_file_write_atomic(file, "fourth", 6));
        CHECK(stat(file, &st) == 0 && st.st_uid == 4321 && st.st_gid == 8765);
        CHECK((st.st_mode & 07777) == 0640);
    }
    CHECK(entries() == 1);
    remove_dir();
}

static void test_symbolic_links(void)
{
    if (!make_dir()) {
        test_skip("cannot create a temporary directory");
        return;
    }
    CHECK(mkdir(at("real"), 0700) == 0);
    const char *target = at("real/model.anoma");
    put(target, "old", 0600);

    /* A relative link, through a second link: the file at the end is
     * replaced, both links stay links, and the mode is the target's. */
    CHECK(symlink("real/model.anoma", at("link1")) == 0);
    CHECK(symlink("link1", at("link2")) == 0);
    CHECK_OK(anoma_file_write_atomic(at("link2"), "new", 3));
    struct stat st;
    CHECK(lstat(at("link1"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(at("link2"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(holds(target, "new"));
    CHECK(stat(target, &st) == 0 && (st.st_mode & 07777) == 0600);

    /* An absolute link. */
    CHECK(symlink(target, at("abs")) == 0);
    CHECK_OK(anoma_file_write_atomic(at("abs"), "abs", 3));
    CHECK(holds(target, "abs"));
    CHECK(lstat(at("abs"), &st) == 0 && S_ISLNK(st.st_mode));

    /* A dangling link creates the file it names. */
    CHECK(symlink("real/later.anoma", at("dangling")) == 0);
    CHECK_OK(anoma_file_write_atomic(at("dangling"), "later", 5));
    CHECK(holds(at("real/later.anoma"), "later"));
    CHECK(lstat(at("dangling"), &st) == 0 && S_ISLNK(st.st_mode));

    /* A loop is refused, naming the path. */
    CHECK(symlink("loop_b", at("loop_a")) == 0);
    CHECK(symlink("loop_a", at("loop_b")) == 0);
    CHECK_STATUS(anoma_file_write_atomic(at("loop_a"), "x", 1), ANOMA_ERR_IO);
    CHECK(strstr(anoma_last_error(), "symbolic links") != NULL);
    CHECK(strstr(anoma_last_error(), "loop_a") != NULL);

    /* A link to a FIFO is refused, naming both. */
    CHECK(mkfifo(at("fifo"), 0600) == 0);
    CHECK(symlink("fifo", at("to_fifo")) == 0);
    CHECK_STATUS(anoma_file_write_atomic(at("to_fifo"), "x", 1), ANOMA_ERR_IO);
    CHECK(strstr(anoma_last_error(), "to_fifo' leads to") != NULL);
    CHECK(strstr(anoma_last_error(), "a FIFO; refusing to replace it") != NULL);
    CHECK(lstat(at("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));

    /* No temporary file is left in either directory. */
    CHECK(entries() == 9);
    remove_dir();
}

/* The save is refused with ANOMA_ERR_IO and `words` in the message, and
 * the thing at the path is still of kind `kind`. */
static void check_refused(const char *path, mode_t kind, const char *words)
{
    int before = entries();
    CHECK_STATUS(anoma_file_write_atomic(path, "x", 1), ANOMA_ERR_IO);
    CHECK(strstr(anoma_last_error(), words) != NULL);
    CHECK(strstr(anoma_last_error(), path) != NULL);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == kind);
    CHECK(entries() == before);
}

static void test_special_files_refused(void)
{
    if (!make_dir()) {
        test_skip("cannot create a temporary directory");
        return;
    }
    CHECK(mkfifo(at("fifo"), 0600) == 0);
    check_refused(at("fifo"), S_IFIFO, "is a FIFO; refusing to replace it");

    CHECK(mkdir(at("sub"), 0700) == 0);
    check_refused(at("sub"), S_IFDIR, "is a directory; refusing to replace it");

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", at("sock"));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&addr, sizeof addr) == 0);
    check_refused(at("sock"), S_IFSOCK, "is a socket; refusing to replace it");
    close(s);
    remove_dir();
}

static void test_character_device_refused(void)
{
    if (!make_dir()) {
        test_skip("cannot create a temporary directory");
        return;
    }
    /* A private copy of /dev/null (1, 3): the real one is never touched. */
    if (mknod(at("null"), S_IFCHR | 0666, makedev(1, 3)) != 0) {
        char why[128];
        snprintf(why, sizeof why, "cannot create a character device (mknod: %s; needs root)",
                 strerror(errno));
        remove_dir();
        test_skip(why);
        return;
    }
    check_refused(at("null"), S_IFCHR, "is a character device; refusing to replace it");
    remove_dir();
}

/* Make a file look `age` seconds old. */
static void age_file(const char *path, long age)
{
    struct timeval now, times[2];
    gettimeofday(&now, NULL);
    times[0] = times[1] = (struct timeval){now.tv_sec - age, 0};
    CHECK(utimes(path, times) == 0);
}

static void test_temporary_names(void)
{
    if (!make_dir()) {
        test_skip("cannot create a temporary directory");
        return;
    }
    /* Leftovers of a killed save by an earlier process with this very pid
     * (a restarted container) under the old "<path>.tmp.<pid>.<n>" names
     * do not make the next save fail. */
    char name[128];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "m.anoma.tmp.%ld.%d", (long)getpid(), i);
        put(at(name), "stale", 0644);
    }
    CHECK_OK(anoma_file_write_atomic(at("m.anoma"), "saved", 5));
    CHECK(holds(at("m.anoma"), "saved"));
    CHECK(entries() == 101); /* young leftovers are not removed */

    /* Temporary files of this target older than an hour are removed by the
     * next save; young ones (a save may be running) and other targets' are
     * kept, as is anything not named like a temporary file. */
    static const char *const stale[] = {"m.anoma.tmp.0123456789abcdef", "m.anoma.tmp.77.0"};
    static const char *const kept[] = {"m.anoma.tmp.fedcba9876543210", "other.tmp.0123456789abcdef",
                                       "m.anoma.tmp.notes", "m.anoma.tmp.0123456789ABCDEF",
                                       "xm.anoma.tmp.0123456789abcdef"};
    for (int i = 0; i < 2; i++) {
        put(at(stale[i]), "stale", 0644);
        age_file(at(stale[i]), 2 * 3600);
    }
    for (int i = 0; i < 5; i++) {
        put(at(kept[i]), "kept", 0644);
        if (i > 0)
            age_file(at(kept[i]), 2 * 3600);
    }
    for (int i = 0; i < 100; i++) { /* the pid-named ones, now old too */
        snprintf(name, sizeof name, "m.anoma.tmp.%ld.%d", (long)getpid(), i);
        age_file(at(name), 2 * 3600);
    }
    CHECK_OK(anoma_file_write_atomic(at("m.anoma"), "again", 5));
    struct stat st;
    for (int i = 0; i < 2; i++)
        CHECK(lstat(at(stale[i]), &st) != 0 && errno == ENOENT);
    for (int i = 0; i < 5; i++)
        CHECK(lstat(at(kept[i]), &st) == 0);
    CHECK(entries() == 6);

    /* Many saves leave nothing behind. */
    for (int i = 0; i < 50; i++)
        CHECK_OK(anoma_file_write_atomic(at("m.anoma"), "loop", 4));
    CHECK(entries() == 6);
    remove_dir();
}

static void test_bad_arguments(void)
{
    CHECK_STATUS(anoma_file_write_atomic(NULL, "x", 1), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_file_write_atomic("", "x", 1), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_file_write_atomic("/tmp/x", NULL, 1), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_file_write_atomic("/nonexistent-dir/sub/m", "x", 1), ANOMA_ERR_IO);
    CHECK(strstr(anoma_last_error(), "/nonexistent-dir/sub/m") != NULL);
}

int main(void)
{
    RUN(test_new_and_regular_files);
    RUN(test_symbolic_links);
    RUN(test_special_files_refused);
    RUN(test_character_device_refused);
    RUN(test_temporary_names);
    RUN(test_bad_arguments);
    return test_summary();
}
