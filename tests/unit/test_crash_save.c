/* Crash safety of anoma_model_save: a process killed with SIGKILL at a
 * random point while it saves leaves the target holding the old complete
 * model or the new one, never a mix; the temporary files killed saves leave
 * are removed by a later save once stale, as docs/model-format.md says.
 *
 * A child saves two different models over one target in turn, without
 * pause; the parent kills it after a random delay spread over a few saves,
 * then reads the target. Encoding (compression) takes most of a save, so
 * every other child writes the encoded bytes through the save's own file
 * step (an_file_write_atomic), to put most kills inside the write, sync and
 * rename. ANOMA_CRASH_KILLS sets the number of kills (200 by
 * default; the long campaign of docs/reliability.md runs more). */
#include "testing.h"
#include "io/format.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct saved {
    unsigned char *bytes;
    size_t size;
} saved;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A forest of some 100 KB: a save long enough to be cut anywhere, short
 * enough for 200 kills in seconds; the seed makes the two models differ. */
static anoma_model *forest(unsigned seed)
{
    enum { ROWS = 4096, COLS = 8 };
    double *x = malloc(sizeof(double) * ROWS * COLS);
    test_fill(x, (size_t)ROWS * COLS, seed, 1000, 10.0);
    char params[96];
    snprintf(params, sizeof params, "n_trees=50 max_samples=256 seed=%u", seed);
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("n_threads=1", &m));
    CHECK_OK(anoma_model_add_detector(m, "iforest", params, NULL));
    anoma_matrix data = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_OK(anoma_model_fit(m, &data, NULL, NULL));
    free(x);
    return m;
}

static saved in_memory(const anoma_model *m)
{
    saved s = {0};
    s.bytes = TEST_SAVED_BYTES(m, &s.size);
    return s;
}

static int read_file(const char *path, saved *out)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    fstat(fd, &st);
    out->size = (size_t)st.st_size;
    out->bytes = malloc(out->size ? out->size : 1);
    size_t got = 0;
    while (got < out->size) {
        ssize_t n = read(fd, out->bytes + got, out->size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return got == out->size ? 0 : -1;
}

static int same(const saved *a, const saved *b)
{
    return a->size == b->size && memcmp(a->bytes, b->bytes, a->size) == 0;
}

/* Paths in dir whose names start with "<base>.tmp."; returns the count. */
static size_t temps_of(const char *dir, const char *base, char names[][512], size_t cap)
{
    DIR *d = opendir(dir);
    size_t n = 0, len = strlen(base);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, base, len) || strncmp(e->d_name + len, ".tmp.", 5))
            continue;
        if (n < cap)
            snprintf(names[n], 512, "%s/%s", dir, e->d_name);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

static void test_killed_saves_leave_a_whole_model(void)
{
    const char *env = getenv("ANOMA_CRASH_KILLS");
    long kills = env ? strtol(env, NULL, 10) : 200;
    char dir[] = "/tmp/anoma_crash_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char target[64];
    snprintf(target, sizeof target, "%s/model.anoma", dir);

    anoma_model *models[2] = {forest(1), forest(2)};
    saved expected[2] = {in_memory(models[0]), in_memory(models[1])};
    CHECK(!same(&expected[0], &expected[1]));

    /* One save's duration sets the range of the kill delays. */
    double t0 = now_seconds();
    for (int i = 0; i < 4; i++)
        CHECK_OK(anoma_model_save(models[i % 2], target));
    double save_seconds = (now_seconds() - t0) / 4;
    t0 = now_seconds();
    for (int i = 0; i < 4; i++)
        CHECK_OK(an_file_write_atomic(target, expected[i % 2].bytes, expected[i % 2].size));
    double write_seconds = (now_seconds() - t0) / 4;

    unsigned state = 12345;
    long whole = 0, killed_mid_save = 0;
    for (long k = 0; k < kills; k++) {
        fflush(stdout);
        pid_t child = fork();
        int whole_save = k % 2 == 0;
        if (child == 0) {
            for (unsigned i = 0;; i++) {
                if (whole_save)
                    anoma_model_save(models[i % 2], target);
                else
                    an_file_write_atomic(target, expected[i % 2].bytes, expected[i % 2].size);
            }
        }
        CHECK(child > 0);
        /* a delay spread over the child's first three saves or writes */
        double span = whole_save ? save_seconds : write_seconds;
        double delay = span * 3 * (double)(test_lcg(&state) % 10000) / 10000.0;
        struct timespec pause = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&pause, NULL);
        kill(child, SIGKILL);
        int status;
        waitpid(child, &status, 0);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        saved now = {0};
        CHECK(read_file(target, &now) == 0);
        int ok = same(&now, &expected[0]) || same(&now, &expected[1]);
        if (!ok)
            test_fail(__FILE__, __LINE__, "kill %ld after %.6f s left %zu bytes that are neither model",
                      k, delay, now.size);
        whole += ok;
        anoma_model *loaded = NULL;
        CHECK_OK(anoma_model_load(target, &loaded));
        anoma_model_free(loaded);
        free(now.bytes);
    }
    CHECK(whole == kills);

    /* Killed saves left their temporary files: a later save keeps the
     * young ones and removes those untouched for an hour. */
    static char names[4096][512];
    size_t left = temps_of(dir, "model.anoma", names, 4096);
    killed_mid_save = (long)left;
    CHECK(left <= (size_t)kills);
    CHECK_OK(anoma_model_save(models[0], target));
    CHECK(temps_of(dir, "model.anoma", names, 4096) == left);
    struct timespec two_hours_ago[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
    for (size_t i = 0; i < left && i < 4096; i++)
        CHECK(utimensat(AT_FDCWD, names[i], two_hours_ago, 0) == 0);
    CHECK_OK(anoma_model_save(models[1], target));
    CHECK(temps_of(dir, "model.anoma", names, 4096) == 0);
    saved last = {0};
    CHECK(read_file(target, &last) == 0 && same(&last, &expected[1]));
    printf("# %ld kills (saves of %.2f ms, writes of %.2f ms): %ld left the target whole, "
           "%ld a temporary file\n", kills, save_seconds * 1e3, write_seconds * 1e3, whole,
           killed_mid_save);

    unlink(target);
    rmdir(dir);
    free(last.bytes);
    for (int i = 0; i < 2; i++) {
        free(expected[i].bytes);
        anoma_model_free(models[i]);
    }
}

int main(void)
{
    RUN(test_killed_saves_leave_a_whole_model);
    return test_summary();
}
