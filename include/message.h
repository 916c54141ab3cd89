/* message.h - decoding one SQS message body into a status command (SPEC
 * section 1): envelopes, aliases, identifier rules, stable rejection codes. */
#ifndef S3S_MESSAGE_H
#define S3S_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum msg_command { CMD_ADD_BATCH_STATUS, CMD_ADD_TASK_STATUS, CMD_GET_STATUS };

/* Stable rejection codes; the names are written to dead letters. */
enum msg_error {
	MSG_OK = 0,
	MSG_INVALID_JSON,        /* "InvalidJSON" */
	MSG_MISSING_FIELD,       /* "MissingField" */
	MSG_INVALID_STATUS,      /* "InvalidStatus" */
	MSG_UNKNOWN_COMMAND,     /* "UnknownCommand" */
	MSG_INVALID_FIELD,       /* "InvalidField" */
	MSG_ACCOUNT_NOT_ALLOWED, /* "AccountNotAllowed" */
	MSG_TOO_LARGE,           /* "TooLarge" */
};
const char *msg_error_code(enum msg_error e);
/* "add-batch-status", "add-task-status", "get-status". */
const char *msg_command_name(enum msg_command c);

/* The statuses allowed when rules->statuses is NULL or empty. */
extern const char *const msg_default_statuses[];
#define MSG_NDEFAULT_STATUSES 5

struct status_msg {
	enum msg_command command;
	char *batch_id; /* valid UTF-8, 1..256 bytes, no control characters */
	char *task_id;  /* NULL for batch events */
	char *status;   /* lower-case; NULL for get-status */
	char *account;  /* NULL when absent */
	char *payload;  /* the producer's JSON bytes verbatim; NULL when absent */
	size_t payload_len;
	int64_t event_time_ms; /* from event_time, else the SentTimestamp */
	char *task_token;      /* NULL when absent; a secret: never log it */
	bool event_time_given; /* event_time came from the body, not SentTimestamp */
};

/* Zero means the default. Exceeding any of them is MSG_TOO_LARGE. */
struct msg_limits {
	size_t max_body;  /* bytes; default 262144 */
	int max_depth;    /* JSON nesting; default 64 */
	size_t max_fields; /* members per object; default 1000 */
};
#define MSG_DEFAULT_MAX_BODY 262144
#define MSG_DEFAULT_MAX_DEPTH 64
#define MSG_DEFAULT_MAX_FIELDS 1000
#define MSG_MAX_ID 256     /* identifier bytes */
#define MSG_MAX_TOKEN 2048 /* task token bytes (the Step Functions limit) */

struct msg_rules {
	/* Allowed statuses (lower-case; NULL/0 means msg_default_statuses) and
	 * accounts (exact match; naccounts == 0 means any). */
	const char *const *statuses;
	size_t nstatuses;
	const char *const *accounts;
	size_t naccounts;
	struct msg_limits limits;
};

/* Decode body. sent_ms is the SQS SentTimestamp (default event time). On
 * error returns the code, fills reason with one human-readable line, and
 * leaves out empty but for task_token when the body carried a valid one (so
 * the waiting state machine can be told). out must be released with
 * status_msg_clear. rules may
 * be NULL (defaults), reason may be NULL. The reason names the field, quotes
 * at most a short excerpt of an offending value, never the task token and
 * never the body.
 *
 * Decisions where SPEC section 1 is silent (see message.c for details):
 * - nesting deeper than max_depth and objects with more than max_fields
 *   members are TooLarge (resource limits, like max_body), not InvalidJSON;
 * - a duplicate key in the object the fields are read from (or in an
 *   envelope) is InvalidJSON "duplicate key";
 * - fields that do not apply to the command are ignored like unknown ones;
 * - when accounts are restricted, a message without account is
 *   AccountNotAllowed. */
enum msg_error msg_decode(const char *body, size_t len, int64_t sent_ms,
			  const struct msg_rules *rules, struct status_msg *out, struct buf *reason);
void status_msg_clear(struct status_msg *m);

#endif
