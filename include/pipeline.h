/* pipeline.h - the daemon's work: long polls feed messages through a small
 * state machine each (decode, PUT, delete; dead-letter, park, release), with
 * batched deletes and visibility heartbeats, all on the event loop. */
#ifndef S3S_PIPELINE_H
#define S3S_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "metrics.h"
#include "retry.h"
#include "s3.h"
#include "sfn.h"
#include "sqs.h"
#include "summary.h"

struct pipeline;

struct pipeline_stats {
	uint64_t received;
	uint64_t stored;
	uint64_t deleted;
	uint64_t dead_lettered;
	uint64_t parked;
	uint64_t released;
	uint64_t put_failures;
	uint64_t receive_errors;
	unsigned inflight;
	char last_error[160]; /* computed size: one short line for STATUS= */
	/* For metrics_file (metrics.c): dead letters by s3statusd.error code;
	 * pipeline-level retries (a PUT that parks, a failed receive) by AWS
	 * error code; receive-to-delete latency of each deleted message. */
	struct metrics_labeled dead_lettered_by_reason;
	struct metrics_labeled retries_by_code;
	struct metrics_histogram receive_to_delete;
};

struct pipeline_options {
	struct loop *loop;
	const struct config *cfg;
	struct sqs *sqs;
	struct s3 *s3;
	struct retry *retry;
	const char *queue_url; /* resolved URL */
	const char *dlq_url;   /* resolved URL, NULL: dead letters go to S3 */
	struct sfn *sfn;       /* Step Functions answers; NULL: none */
	struct summary_updater *summary; /* NULL when summary is off */
	bool drain;            /* finish once the queue is empty */
	/* Called once when the pipeline has finished (drained, or stopped and
	 * every message finished or released). */
	void (*on_finished)(void *arg);
	void *arg;
};

struct pipeline *pipeline_new(const struct pipeline_options *opt);
void pipeline_free(struct pipeline *p);
void pipeline_start(struct pipeline *p);
/* Graceful stop: no new receives (long polls aborted), in-flight work gets
 * shutdown_timeout, the rest is made visible again at once. */
void pipeline_stop(struct pipeline *p);
const struct pipeline_stats *pipeline_stats(const struct pipeline *p);

#endif
