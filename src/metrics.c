/* metrics.c - counters by label, the receive-to-delete histogram, and the
 * Prometheus text-format file, rewritten whole and renamed into place. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pipeline.h"

/* Upper bounds of the histogram buckets, in milliseconds and as "le" text. */
static const int64_t bucket_ms[METRICS_BUCKETS] = {50,   100,  250,   500,   1000,
						   2500, 5000, 10000, 30000, 60000};
static const char *const bucket_le[METRICS_BUCKETS] = {"0.05", "0.1", "0.25", "0.5", "1",
							"2.5",  "5",   "10",   "30",  "60"};

struct metrics {
	char *path;
	char *tmp_path;
	int64_t start_ms; /* wall clock when the daemon started */
	bool failing;     /* the last write failed (warn once per streak) */
};

/* ---- counters ----------------------------------------------------------- */

static bool label_byte_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
}

void metrics_labeled_inc(struct metrics_labeled *c, const char *value)
{
	char v[METRICS_LABEL_MAX];
	size_t i;

	if (!value || !*value)
		value = "unknown";
	for (i = 0; value[i] && i < sizeof(v) - 1; i++)
		v[i] = label_byte_ok(value[i]) ? value[i] : '_';
	v[i] = '\0';
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->value[i], v) == 0) {
			c->count[i]++;
			return;
		}
	}
	if (c->n == METRICS_LABEL_VALUES) {
		c->other++;
		return;
	}
	memcpy(c->value[c->n], v, sizeof(v));
	c->count[c->n++] = 1;
}

void metrics_histogram_observe_ms(struct metrics_histogram *h, int64_t ms)
{
	size_t i;

	if (ms < 0)
		ms = 0;
	for (i = 0; i < METRICS_BUCKETS; i++) {
		if (ms <= bucket_ms[i]) {
			h->bucket[i]++;
			break;
		}
	}
	h->count++;
	h->sum_ms += (uint64_t)ms;
}

/* ---- the text format ---------------------------------------------------- */

static void head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	head(b, name, "counter", help);
	buf_addf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void labeled(struct buf *b, const char *name, const char *label, const char *help,
		    const struct metrics_labeled *c)
{
	size_t i;

	head(b, name, "counter", help);
	for (i = 0; i < c->n; i++)
		buf_addf(b, "%s{%s=\"%s\"} %llu\n", name, label, c->value[i],
			 (unsigned long long)c->count[i]);
	if (c->other)
		buf_addf(b, "%s{%s=\"other\"} %llu\n", name, label, (unsigned long long)c->other);
}

static void histogram(struct buf *b, const char *name, const char *help,
		      const struct metrics_histogram *h)
{
	uint64_t cum = 0;
	size_t i;

	head(b, name, "histogram", help);
	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += h->bucket[i];
		buf_addf(b, "%s_bucket{le=\"%s\"} %llu\n", name, bucket_le[i],
			 (unsigned long long)cum);
	}
	buf_addf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	buf_addf(b, "%s_sum %llu.%03llu\n", name, (unsigned long long)(h->sum_ms / 1000),
		 (unsigned long long)(h->sum_ms % 1000));
	buf_addf(b, "%s_count %llu\n", name, (unsigned long long)h->count);
}

void metrics_format(const struct metrics *m, const struct pipeline_stats *st, struct buf *out)
{
	head(out, "s3statusd_build_info", "gauge", "Version of the running s3statusd.");
	buf_addf(out, "s3statusd_build_info{version=\"%s\"} 1\n", S3S_VERSION);
	head(out, "process_start_time_seconds", "gauge",
	     "Start time of the process since the Unix epoch in seconds.");
	buf_addf(out, "process_start_time_seconds %lld.%03lld\n", (long long)(m->start_ms / 1000),
		 (long long)(m->start_ms % 1000));
	counter(out, "s3statusd_messages_received_total",
		"Messages received from the source queue (a redelivery counts again).",
		st->received);
	counter(out, "s3statusd_messages_stored_total", "Records written to S3.", st->stored);
	counter(out, "s3statusd_messages_deleted_total",
		"Messages deleted from the source queue after they were stored or dead-lettered.",
		st->deleted);
	labeled(out, "s3statusd_messages_dead_lettered_total", "reason",
		"Messages dead-lettered (DLQ or DEAD_LETTER/ prefix), by error code.",
		&st->dead_lettered_by_reason);
	counter(out, "s3statusd_messages_parked_total",
		"Messages whose write failed, hidden for a backoff and retried on a later receive.",
		st->parked);
	counter(out, "s3statusd_messages_released_total",
		"Messages made visible again without being finished (parked, or at shutdown).",
		st->released);
	labeled(out, "s3statusd_retries_total", "code",
		"Failed calls the pipeline tries again (a PutObject that parks its message, a "
		"ReceiveMessage retried after a backoff), by AWS error code. Retries inside one "
		"call are not counted.",
		&st->retries_by_code);
	counter(out, "s3statusd_put_failures_total",
		"PutObject calls that failed (after the retries inside the call).", st->put_failures);
	counter(out, "s3statusd_receive_errors_total", "ReceiveMessage calls that failed.",
		st->receive_errors);
	head(out, "s3statusd_messages_inflight", "gauge", "Messages being processed now.");
	buf_addf(out, "s3statusd_messages_inflight %u\n", st->inflight);
	histogram(out, "s3statusd_receive_to_delete_seconds",
		  "Time from receiving a message to its successful delete.",
		  &st->receive_to_delete);
}

/* ---- the file ----------------------------------------------------------- */

struct metrics *metrics_new(const char *path)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->start_ms = clock_wall_ms();
	metrics_set_path(m, path);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->path);
	free(m->tmp_path);
	free(m);
}

void metrics_set_path(struct metrics *m, const char *path)
{
	free(m->path);
	free(m->tmp_path);
	m->path = path && *path ? xstrdup(path) : NULL;
	m->tmp_path = m->path ? xasprintf("%s.tmp", m->path) : NULL;
	m->failing = false;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int metrics_write(struct metrics *m, const struct pipeline_stats *st)
{
	struct buf text;
	const char *what = NULL;
	int fd = -1, rc = -1, err = 0;

	if (!m || !m->path)
		return 0;
	buf_init(&text, 0);
	metrics_format(m, st, &text);
	fd = open(m->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		  0644);
	if (fd < 0) {
		what = "create";
		goto fail;
	}
	if (fchmod(fd, 0644) < 0) {
		what = "chmod";
		goto fail;
	}
	if (write_all(fd, text.data, text.len) < 0) {
		what = "write";
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		what = "write";
		goto fail;
	}
	fd = -1;
	if (rename(m->tmp_path, m->path) < 0) {
		what = "rename";
		goto fail;
	}
	if (m->failing)
		log_notice("metrics_file %s: written again", m->path);
	m->failing = false;
	rc = 0;
fail:
	if (rc < 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		if (what && strcmp(what, "create") != 0)
			unlink(m->tmp_path);
		if (!m->failing)
			log_warn("metrics_file %s: cannot %s %s: %s; will keep trying every 10 s",
				 m->path, what, strcmp(what, "rename") == 0 ? "it" : m->tmp_path,
				 strerror(err));
		m->failing = true;
	}
	buf_free(&text);
	return rc;
}
