/* metrics.h - the daemon's counters by label and its latency histogram, and
 * the Prometheus text-format file (metrics_file) they are written to. */
#ifndef S3S_METRICS_H
#define S3S_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* A counter split by one label whose values come from peers (AWS error codes)
 * or from a small fixed set (dead-letter reasons). At most
 * METRICS_LABEL_VALUES distinct values are kept; later ones count as "other",
 * so a misbehaving peer cannot grow the file without bound. Values are cut to
 * METRICS_LABEL_MAX - 1 bytes and bytes outside [A-Za-z0-9_.:/-] become '_'
 * (no escaping needed in the file). */
#define METRICS_LABEL_VALUES 32
#define METRICS_LABEL_MAX 64
struct metrics_labeled {
	size_t n;
	char value[METRICS_LABEL_VALUES][METRICS_LABEL_MAX];
	uint64_t count[METRICS_LABEL_VALUES];
	uint64_t other;
};
/* NULL or "" counts as "unknown". */
void metrics_labeled_inc(struct metrics_labeled *c, const char *value);

/* A latency histogram: milliseconds in, seconds out. Bucket upper bounds
 * (seconds): 0.05 0.1 0.25 0.5 1 2.5 5 10 30 60, then +Inf. */
#define METRICS_BUCKETS 10
struct metrics_histogram {
	uint64_t bucket[METRICS_BUCKETS]; /* per bound, not cumulative */
	uint64_t count;                   /* every observation (+Inf included) */
	uint64_t sum_ms;
};
/* Negative durations (a clock step) count as 0. */
void metrics_histogram_observe_ms(struct metrics_histogram *h, int64_t ms);

struct metrics;
struct pipeline_stats;

/* path NULL: metrics_write() writes nothing. The process start time is taken
 * now, so create it early in main(). */
struct metrics *metrics_new(const char *path);
void metrics_free(struct metrics *m); /* NULL is fine */
/* Change the file (SIGHUP); NULL stops writing. The old file is left as is. */
void metrics_set_path(struct metrics *m, const char *path);
/* Rewrite the file from st: "<path>.tmp" in the same directory (O_CLOEXEC,
 * O_NOFOLLOW, mode 0644 whatever the umask: metrics are not secret and a
 * node exporter reads them), then rename() over path, so a reader sees the
 * old or the new file, never half of one. Returns 0, or -1 after logging a
 * warning (once per streak of failures; the recovery is logged too). */
int metrics_write(struct metrics *m, const struct pipeline_stats *st);
/* The file's text, for tests and --check style output. */
void metrics_format(const struct metrics *m, const struct pipeline_stats *st, struct buf *out);

#endif
