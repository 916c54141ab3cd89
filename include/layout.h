/* layout.h - the S3 key layout and object bodies of SPEC section 2: %XX
 * identifier encoding, the sortable stamp, the one-line JSON record. */
#ifndef S3S_LAYOUT_H
#define S3S_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "util.h"

#define LAYOUT_MAX_KEY 1024

/* Append id with every byte outside A-Z a-z 0-9 . _ - as %XX; "." and ".."
 * have their dots encoded. */
int layout_encode_id(struct buf *out, const char *id, size_t len);
/* Inverse of layout_encode_id; -1 on a malformed escape. */
int layout_decode_id(struct buf *out, const char *seg, size_t len);

/* {prefix}/BATCHS/{batch}/status/{status}/{stamp}_{message_id}.json, or the
 * task form. Returns 0, or -1 when the key would exceed LAYOUT_MAX_KEY bytes. */
int layout_record_key(struct buf *out, const char *prefix, const struct status_msg *m,
		      const char *message_id);
/* {prefix}/DEAD_LETTER/{yyyy}/{mm}/{dd}/{stamp}_{message_id}.json */
int layout_dead_letter_key(struct buf *out, const char *prefix, int64_t time_ms,
			   const char *message_id);
/* {prefix}/BATCHS/{batch}/summary.json */
int layout_summary_key(struct buf *out, const char *prefix, const char *batch_id);

struct record_meta {
	const char *message_id;
	int64_t receive_count;
	const char *queue; /* queue URL */
	int64_t recorded_at_ms;
};

/* The record object body: one line of strict JSON and "\n". With
 * payload_only (record_format = payload) the payload alone (or "null"). */
int layout_record_body(struct buf *out, const struct status_msg *m,
		       const struct record_meta *meta, bool payload_only);

/* A dead-letter object body: one JSON line with the error code, reason, source
 * message id, receive count, queue, time and the original body (as a string
 * when it is not valid JSON, else verbatim under "body"). */
int layout_dead_letter_body(struct buf *out, const char *body, size_t len,
			    const char *error_code, const char *reason,
			    const struct record_meta *meta);

#endif
