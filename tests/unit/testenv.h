/* testenv.h - what the unit tests of environment- and file-driven modules
 * share: an injectable environment (for config_source / creds_env) and
 * temporary files with a chosen mode. */
#ifndef S3S_TESTENV_H
#define S3S_TESTENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Temporary file names start with this (a test may define its own first). */
#ifndef TESTENV_PREFIX
#define TESTENV_PREFIX "/tmp/s3s-test-"
#endif

struct env {
	const char *kv[32][2];
};

/* getenv replacement over e (NULL: empty environment). */
static inline const char *env_lookup(void *ctx, const char *name)
{
	struct env *e = ctx;
	size_t i;

	for (i = 0; e && i < ARRAY_SIZE(e->kv) && e->kv[i][0]; i++)
		if (strcmp(e->kv[i][0], name) == 0)
			return e->kv[i][1];
	return NULL;
}

/* Set or replace k (strings are borrowed). */
static inline void env_set(struct env *e, const char *k, const char *v)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(e->kv) - 1 && e->kv[i][0]; i++)
		if (strcmp(e->kv[i][0], k) == 0)
			break;
	e->kv[i][0] = k;
	e->kv[i][1] = v;
}

/* A temporary file with the given text; release it with remove_file. */
static inline char *temp_file(const char *text, mode_t mode)
{
	char *path = xstrdup(TESTENV_PREFIX "XXXXXX");
	int fd = mkstemp(path);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n || fchmod(fd, mode) != 0) {
		perror("temp file");
		exit(1);
	}
	close(fd);
	return path;
}

static inline void remove_file(char *path)
{
	if (path)
		unlink(path);
	free(path);
}

#endif
