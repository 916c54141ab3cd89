/* sqs.h - Amazon SQS over the JSON protocol (application/x-amz-json-1.0,
 * X-Amz-Target: AmazonSQS.*): receive, delete and change-visibility batches,
 * send, and queue lookups. Answers are parsed into plain structs. */
#ifndef S3S_SQS_H
#define S3S_SQS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"

struct sqs;
struct sqs_op;

struct sqs *sqs_new(struct aws_client *c, const struct aws_endpoint *ep);
void sqs_free(struct sqs *s);

struct sqs_message {
	char *message_id;
	char *receipt_handle;
	char *body;
	size_t body_len;
	int64_t receive_count;    /* ApproximateReceiveCount, 1 when absent */
	int64_t sent_ms;          /* SentTimestamp, 0 when absent */
	int64_t first_receive_ms; /* ApproximateFirstReceiveTimestamp, 0 when absent */
};
void sqs_message_clear(struct sqs_message *m);

/* Results of one call. For batches, entries[i] matches the request's i-th
 * entry; ok is false with code/message for each Failed entry (and for every
 * entry when the whole call failed). */
struct sqs_entry_result {
	bool ok;
	bool sender_fault;
	char *code;
	char *message;
};

struct sqs_result {
	struct aws_response *resp; /* the call's outcome */
	/* ReceiveMessage */
	struct sqs_message *messages;
	size_t nmessages;
	/* batches */
	struct sqs_entry_result *entries;
	size_t nentries;
	/* SendMessage: MessageId; GetQueueUrl: QueueUrl */
	char *value;
	/* A 2xx answer that did not parse: ok is false and this says why. */
	const char *parse_error;
};

typedef void (*sqs_cb)(struct sqs_result *r, void *arg);

struct sqs_receive_params {
	const char *queue_url;
	int max_messages; /* 1..10 */
	int wait_time;    /* seconds */
	int visibility_timeout; /* seconds, < 0: queue default */
};
struct sqs_op *sqs_receive(struct sqs *s, const struct sqs_receive_params *p, sqs_cb cb,
			     void *arg);

struct sqs_batch_entry {
	const char *id; /* unique within the batch */
	const char *receipt_handle;
	int visibility_timeout; /* change-visibility only */
};
struct sqs_op *sqs_delete_batch(struct sqs *s, const char *queue_url,
				  const struct sqs_batch_entry *e, size_t n, sqs_cb cb, void *arg);
struct sqs_op *sqs_change_visibility_batch(struct sqs *s, const char *queue_url,
					     const struct sqs_batch_entry *e, size_t n, sqs_cb cb,
					     void *arg);

struct sqs_attr {
	const char *name;
	const char *type; /* "String" or "Number" */
	const char *value;
};
struct sqs_op *sqs_send(struct sqs *s, const char *queue_url, const char *body, size_t len,
			  const struct sqs_attr *attrs, size_t nattrs, sqs_cb cb, void *arg);
struct sqs_op *sqs_get_queue_url(struct sqs *s, const char *name, sqs_cb cb, void *arg);
/* GetQueueAttributes(QueueArn) as an access check; value holds the ARN. */
struct sqs_op *sqs_check_queue(struct sqs *s, const char *queue_url, sqs_cb cb, void *arg);

/* Cancel an operation; its callback will not run. NULL is fine. */
void sqs_cancel(struct sqs_op *op);

/* Parse a 2xx answer body as the client does for target ("ReceiveMessage",
 * "DeleteMessageBatch" with the entry ids sent, "SendMessage"...): 0, or -1
 * with r->parse_error. Release r with sqs_result_clear(). For fuzzing. */
int sqs_parse_answer(const char *target, const char *body, size_t len, const char *const *ids,
		     size_t nids, struct sqs_result *r);
void sqs_result_clear(struct sqs_result *r);

/* Harmless answers after a delete/visibility race: the message is gone or the
 * receipt handle is stale. */
bool sqs_code_is_gone(const char *code);

#endif
