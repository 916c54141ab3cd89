/* s3.h - Amazon S3 object calls: PutObject with an SHA-256 checksum and
 * optional conditions, GetObject, HeadBucket, ListObjectsV2; path-style or
 * virtual-hosted URLs. */
#ifndef S3S_S3_H
#define S3S_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"

struct s3;
struct s3_op;

struct s3_options {
	const struct aws_endpoint *endpoint;
	bool path_style;
	const char *sse;            /* NULL, "AES256", "aws:kms" */
	const char *sse_kms_key_id; /* NULL or a key id/ARN */
};

struct s3 *s3_new(struct aws_client *c, const struct s3_options *opt);
void s3_free(struct s3 *s);

struct s3_result {
	struct aws_response *resp;
	const char *etag; /* PutObject/GetObject ETag, NULL when absent */
	const char *body; /* GetObject body */
	size_t body_len;
	/* ListObjectsV2 */
	char **keys;
	size_t nkeys;
	char *next_token; /* NULL when the listing is complete */
};

typedef void (*s3_cb)(struct s3_result *r, void *arg);

struct s3_put {
	const char *bucket;
	const char *key;
	const char *body; /* borrowed until the callback */
	size_t len;
	const char *content_type; /* default application/json */
	const char *if_match;     /* ETag, or NULL */
	bool if_none_match;       /* If-None-Match: * */
};

struct s3_op *s3_put_object(struct s3 *s, const struct s3_put *p, s3_cb cb, void *arg);
struct s3_op *s3_get_object(struct s3 *s, const char *bucket, const char *key, size_t max,
			    s3_cb cb, void *arg);
struct s3_op *s3_head_bucket(struct s3 *s, const char *bucket, s3_cb cb, void *arg);
struct s3_op *s3_list_objects(struct s3 *s, const char *bucket, const char *prefix,
			      const char *continuation, s3_cb cb, void *arg);
void s3_cancel(struct s3_op *op); /* callback will not run; NULL is fine */

/* Parse a ListObjectsV2 answer (exposed for tests and fuzzing). */
int s3_parse_list(const char *body, size_t len, char ***keys, size_t *nkeys, char **next_token);

#endif
