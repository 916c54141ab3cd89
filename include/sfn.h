/* sfn.h - AWS Step Functions task callbacks over the JSON protocol
 * (application/x-amz-json-1.0, X-Amz-Target: AWSStepFunctions.*, signed for
 * "states"): SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat. */
#ifndef S3S_SFN_H
#define S3S_SFN_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "util.h"

/* Limits of the Step Functions API (bytes; error and cause are counted in
 * characters by AWS, so a byte limit is on the safe side). The task token's
 * documented maximum grew from 1024 to 2048; the decoder accepts 2048
 * (MSG_MAX_TOKEN) and so do we: the service has the last word. */
#define SFN_MAX_TOKEN 2048
#define SFN_MAX_OUTPUT (256u * 1024)
#define SFN_MAX_ERROR 256
#define SFN_MAX_CAUSE 32768

struct sfn;
struct sfn_op;

struct sfn *sfn_new(struct aws_client *c, const struct aws_endpoint *ep);
void sfn_free(struct sfn *s); /* NULL is fine; cancel the operations first */

enum sfn_outcome {
	SFN_OK,
	/* The task is gone or already answered: TaskTimedOut, InvalidToken,
	 * TaskDoesNotExist. Final: log it, never retry it. */
	SFN_FINAL,
	/* Anything else after the common retry policy; resp->err.cls tells
	 * whether a later try may succeed (ERR_THROTTLE/ERR_TRANSIENT) or not. */
	SFN_FAILED,
};
const char *sfn_outcome_name(enum sfn_outcome o);

struct sfn_result {
	enum sfn_outcome outcome;
	bool retryable;            /* SFN_FAILED with a throttling or transient error */
	struct aws_response *resp; /* err.code/err.message when not ok */
};

typedef void (*sfn_cb)(struct sfn_result *r, void *arg);

/* Each returns NULL (and never calls back) when an argument breaks a limit:
 * see sfn_check_token() and sfn_check_output(). Error and cause are cut to
 * their limits instead (sfn_truncate). The token is a secret: it is never
 * logged. Otherwise the callback runs exactly once, from the loop, unless
 * the operation is cancelled. */
struct sfn_op *sfn_task_success(struct sfn *s, const char *token, const char *output,
				size_t output_len, sfn_cb cb, void *arg);
struct sfn_op *sfn_task_failure(struct sfn *s, const char *token, const char *error,
				const char *cause, sfn_cb cb, void *arg);
struct sfn_op *sfn_task_heartbeat(struct sfn *s, const char *token, sfn_cb cb, void *arg);
void sfn_cancel(struct sfn_op *op); /* the callback will not run; NULL is fine */

/* NULL when acceptable, else a static reason ("task token is empty"...). */
const char *sfn_check_token(const char *token);
/* Valid JSON of at most SFN_MAX_OUTPUT bytes. */
const char *sfn_check_output(const char *output, size_t len);

/* Append s[0..n) to out cut to at most max bytes of valid UTF-8: when it
 * does not fit, the longest prefix that ends on a character boundary and
 * leaves room for marker is followed by marker (e.g. "... [truncated]").
 * Invalid UTF-8 in s becomes U+FFFD first. -1 when out is full. */
int sfn_truncate(struct buf *out, const char *s, size_t n, size_t max, const char *marker);

/* The SendTaskSuccess output of a stored record, one JSON object:
 * {"s3_key":..,"status":..,"batch_id":..,"task_id":..|null}. Replaces out. */
int sfn_success_output(struct buf *out, const char *s3_key, const char *status,
		       const char *batch_id, const char *task_id);

#endif
