/* cli.h - s3status subcommands (cli_get.c: get and summary; cli_dlq.c: dlq
 * redrive) and the blocking S3 helpers they share (cli_s3.c). Private to
 * the CLI: every call runs the event loop until its answer is in. */
#ifndef S3S_CLI_H
#define S3S_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "app.h"
#include "config.h"
#include "history.h"
#include "summary.h"

/* Subcommands: x holds the extra options (config_extra), pos the words. They
 * print their results on stdout, errors as one "s3status: ..." line on
 * stderr, and return the exit status (0, EXIT_FAILURE_RUNTIME, EXIT_CONFIG). */
int cli_get(struct app *a, const struct strlist *x);
int cli_summary(struct app *a, const struct strlist *x);
int cli_dlq(struct app *a, const struct strlist *pos, const struct strlist *x);

/* ---- blocking S3 calls (cli_s3.c); err receives one line on failure ---- */

struct cli_object {
	char *body;
	size_t len;
	char *etag;
};
void cli_object_clear(struct cli_object *o);

/* 0 found, 1 no such key, -1 error. */
int cli_s3_get(struct app *a, const char *key, size_t max, struct cli_object *out,
	       struct buf *err);
/* 0 stored, 1 a condition failed (412/409: someone else wrote), -1 error. */
int cli_s3_put(struct app *a, const char *key, const char *body, size_t len,
	       const char *if_match, bool if_none_match, char **etag, struct buf *err);
/* Every key under prefix (ListObjectsV2, all pages) appended to keys. */
int cli_s3_list(struct app *a, const char *prefix, struct strlist *keys, struct buf *err);

/* The history of a batch or task: list the scope's prefix and parse the
 * record keys (others are skipped). *v is allocated; free with
 * cli_history_free. Returns 0 or -1. */
int cli_history_load(struct app *a, const char *batch_id, const char *task_id,
		     enum history_scope scope, struct history_event **v, size_t *n,
		     struct buf *err);
void cli_history_free(struct history_event *v, size_t n);

/* summary.json of a batch: 0 parsed into s, 1 absent, 2 present but not
 * parseable (err says why), -1 error. etag (may be NULL) is set for 0 and 2. */
int cli_summary_load(struct app *a, const char *batch_id, struct summary *s, char **etag,
		     struct buf *err);

/* Append s as a JSON string, or null. */
void cli_json_str(struct buf *out, const char *s);

#endif
