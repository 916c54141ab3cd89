/* layout.h - the S3 key layout and object bodies of SPEC section 2: %XX
 * identifier encoding, the sortable stamp, the one-line JSON record. */
#ifndef S3S_LAYOUT_H
#define S3S_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "util.h"

#define LAYOUT_MAX_KEY 1024 /* S3's limit, in bytes */
#define LAYOUT_DEFAULT_PREFIX "FTD_CONTRACT_LOADER"

/* Key and body builders replace the contents of out and return 0, or -1 with
 * out empty (a key over LAYOUT_MAX_KEY is refused, never truncated). The
 * prefix is used as given (it may contain '/'), without leading or trailing
 * '/'; an empty prefix puts BATCHS/ and DEAD_LETTER/ at the bucket root and
 * NULL means LAYOUT_DEFAULT_PREFIX. message_id goes through
 * layout_encode_id. */

/* Append id with every byte outside A-Z a-z 0-9 . _ - as %XX (upper-case
 * hex); "." and ".." have their dots encoded. On -1 (out full) out is as it
 * was. */
int layout_encode_id(struct buf *out, const char *id, size_t len);
/* Inverse of layout_encode_id (appends; either hex case accepted, other
 * bytes copied); -1 on a malformed escape, out then as it was. */
int layout_decode_id(struct buf *out, const char *seg, size_t len);

/* {prefix}/BATCHS/{batch}/status/{status}/{stamp}_{message_id}.json, or
 * {prefix}/BATCHS/{batch}/tasks/{task}/{status}/{stamp}_{message_id}.json;
 * stamp is m->event_time_ms as time_fmt_stamp. -1 for get-status (it writes
 * no record) and when the key would exceed LAYOUT_MAX_KEY bytes. */
int layout_record_key(struct buf *out, const char *prefix, const struct status_msg *m,
		      const char *message_id);
/* {prefix}/DEAD_LETTER/{yyyy}/{mm}/{dd}/{stamp}_{message_id}.json, all from
 * time_ms in UTC. */
int layout_dead_letter_key(struct buf *out, const char *prefix, int64_t time_ms,
			   const char *message_id);
/* {prefix}/BATCHS/{batch}/summary.json */
int layout_summary_key(struct buf *out, const char *prefix, const char *batch_id);

struct record_meta {
	const char *message_id;
	int64_t receive_count;
	const char *queue; /* queue URL */
	int64_t recorded_at_ms; /* recorded_at; dead_lettered_at for dead letters */
};

/* The record object body: one line of strict JSON and "\n":
 * {"account":..,"batch_id":..,"task_id":..,"status":..,"event_time":..,
 *  "recorded_at":..,"message_id":..,"receive_count":..,"queue":..,"payload":..}
 * in this order, absent values as null. With payload_only (record_format =
 * payload) the payload alone (or "null"). The payload's bytes are kept as
 * they are, except that CR and LF (only ever insignificant whitespace in
 * valid JSON) become spaces so the body stays one line. -1 for get-status. */
int layout_record_body(struct buf *out, const struct status_msg *m,
		       const struct record_meta *meta, bool payload_only);

/* A dead-letter object body: one JSON line
 * {"error":..,"reason":..,"message_id":..,"receive_count":..,"queue":..,
 *  "dead_lettered_at":..,"body":<the body verbatim, CR/LF as spaces>}
 * when the body is one valid JSON document (nesting up to 64; surrounding
 * whitespace dropped), else with
 * "body_text":<the body as a JSON string, invalid UTF-8 as U+FFFD>. */
int layout_dead_letter_body(struct buf *out, const char *body, size_t len,
			    const char *error_code, const char *reason,
			    const struct record_meta *meta);

#endif
