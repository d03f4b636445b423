/* Limits with their defaults (docs/serve.md lists them) and the bearer token. */
#include "serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const serve_limits serve_default_limits = {
    .max_body = 8u << 20,  /* 8 MiB: a 10,000-record batch of a few dozen columns */
    .max_rows = 10000,
    .max_connections = 256,
    .timeout = 30,
    .threads = 0,          /* 0: one per processor */
    .max_explain = 64,
};

int serve_read_token(const char *path, char **token)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_error("--token-file %s: %s", path, strerror(errno));
    char line[4096];
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t n = ok ? strlen(line) : 0;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                 line[n - 1] == '\t'))
        line[--n] = '\0';
    if (n == 0)
        return cli_error("--token-file %s: the first line is empty", path);
    if (!(*token = strdup(line)))
        return cli_error("out of memory");
    return CLI_OK;
}

int serve_token_matches(const char *token, const char *header)
{
    static const char scheme[] = "Bearer ";
    if (!header || strncmp(header, scheme, sizeof scheme - 1) != 0)
        return 0;
    const char *given = header + sizeof scheme - 1;
    size_t n = strlen(token), m = strlen(given);
    /* every byte of the token is looked at, whatever the given text holds:
     * the time says nothing about where a guess goes wrong */
    unsigned char diff = n != m;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(token[i] ^ (i < m ? given[i] : 0));
    return diff == 0;
}
