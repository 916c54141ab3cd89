/* pipeline_int.h - the pipeline's private types: one struct msg per SQS
 * message, the queues that batch them, and the functions the pipeline's
 * three files share. Not for use outside src/pipeline*.c. */
#ifndef S3S_PIPELINE_INT_H
#define S3S_PIPELINE_INT_H

#include "pipeline.h"
#include "status_query.h"

#define BATCH_MAX 10
#define DELETE_LINGER_MS 10 /* deletes wait this long to fill a batch of ten */
#define DELETE_MAX_TRIES 5
#define HEARTBEAT_MIN_MS 500
#define MAX_VISIBILITY_S (12 * 3600)
#define PARK_BASE_MS 1000
#define RECEIVE_BACKOFF_BASE_MS 500
#define MSGMAP_BUCKETS 1024
#define SCRATCH_KEEP 16384 /* bytes of the record scratch buffer kept between uses */

enum msg_state {
	MS_RECEIVED,
	MS_WRITING,
	MS_SUMMARIZING,
	MS_QUERYING,
	MS_ANSWERING,
	MS_DEAD_LETTERING,
	MS_DELETE_WAIT,
	MS_DELETING,
	MS_DELETE_RETRY,
	MS_RELEASE_WAIT,
	MS_RELEASING,
	MS_DONE,
};

struct msg {
	struct pipeline *p;
	enum msg_state state;
	struct sqs_message sm;
	struct status_msg st;
	struct buf key;  /* exact size */
	struct buf body; /* the record until stored (exact size), or the dead letter */
	char *error_code; /* dead-letter code */
	char *reason;     /* dead-letter reason or last failure */
	struct s3_op *put;
	struct sqs_op *send;
	struct summary_wait *sw;      /* summary.json write that must include it */
	struct status_query *query;   /* get-status lookup */
	struct sfn_op *sfn;           /* SendTaskSuccess / SendTaskFailure */
	struct sfn_op *sfn_heartbeat; /* SendTaskHeartbeat on a retry */
	bool token_dead;              /* Step Functions said the task is gone */
	struct loop_timer *heartbeat;
	int64_t received_mono;  /* when this copy was received */
	int64_t first_wall_ms;  /* first receive, for the 12-hour visibility limit */
	int release_visibility; /* seconds, for RELEASING */
	int delete_tries;
	bool heartbeat_inflight;
	char batch_id[24]; /* id inside the batch currently carrying it */
	struct msg *next, *prev;     /* all in-flight messages */
	struct msg *qnext;           /* delete / release / heartbeat queues */
	struct msgq *inq;            /* the queue it is in, NULL when none */
	struct msg *hnext;           /* message-id hash chain */
};

struct msgq {
	struct msg *head, *tail;
	size_t n;
};

struct poller {
	struct pipeline *p;
	struct sqs_op *op;
	struct loop_timer *backoff;
	int reserved; /* messages asked for */
};

struct parked {
	char *message_id;
	int64_t due_ms;
};

/* A parked message not seen again this long after it was due has been taken
 * by another consumer (or expired): --drain stops waiting for it. */
#define PARKED_GRACE_MS 30000

struct pipeline {
	struct pipeline_options o;
	const struct config *cfg;
	struct loop *loop;
	struct msg *msgs; /* doubly linked */
	struct msg *map[MSGMAP_BUCKETS];
	struct msgq deletes, releases, heartbeats;
	struct loop_timer *flush_timer;
	struct loop_timer *shutdown_timer;
	struct poller *pollers;
	unsigned npollers;
	unsigned batches_inflight; /* delete / visibility batches */
	unsigned inflight;
	uint64_t batch_seq;
	int receive_failures;
	int empty_streak;
	/* Messages this process parked, with the time (monotonic ms) by which
	 * they should be visible again: --drain waits for them to come back. */
	struct parked *parked;
	size_t nparked, parked_cap;
	bool started, stopping, finished, shutdown_expired;
	struct msg_rules rules;
	struct pipeline_stats stats;
	struct buf scratch; /* records are built here, then copied at their size */
};

/* States in which a request for the message is under way: its visibility is
 * kept extended, and a stop that runs out of time gives it back. */
static inline bool msg_working(const struct msg *m)
{
	switch (m->state) {
	case MS_RECEIVED:
	case MS_WRITING:
	case MS_SUMMARIZING:
	case MS_QUERYING:
	case MS_ANSWERING:
	case MS_DEAD_LETTERING:
		return true;
	default:
		return false;
	}
}

/* Shared by pipeline.c (state machine, receiving, writing, dead letters),
 * pipeline_batch.c (delete/release/heartbeat batches) and pipeline_answer.c
 * (summary.json, Step Functions, get-status). Internal to the pipeline. */
void pl_msg_enter(struct msg *m, enum msg_state s);
struct msg *pl_msg_find(struct pipeline *p, const char *id);
void pl_check_finished(struct pipeline *p);
void pl_poll_more(struct pipeline *p);
void pl_set_reason(struct msg *m, const char *code, const char *reason);
void pl_park(struct msg *m);
void pl_give_up_or_park(struct msg *m, const char *code, const char *what);
void pl_start_dead_letter(struct msg *m);

void pl_q_push(struct msgq *q, struct msg *m);
void pl_q_remove(struct msgq *q, struct msg *m);
void pl_schedule_flush(struct pipeline *p);
void pl_flush_batches(struct pipeline *p);
void pl_on_heartbeat(struct loop *l, void *arg);
void pl_on_flush(struct loop *l, void *arg);
int64_t pl_heartbeat_period_ms(const struct pipeline *p);

void pl_after_stored(struct msg *m);
void pl_start_query(struct msg *m);
void pl_on_sfn_answered(struct sfn_result *r, void *arg);
void pl_on_sfn_heartbeat(struct sfn_result *r, void *arg);

#endif
