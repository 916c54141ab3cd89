/* creds.h - AWS credentials as a chain of providers in the SDK order. This
 * step has the environment and the shared credentials/config files; web
 * identity, container and instance-metadata providers slot into the chain. */
#ifndef S3S_CREDS_H
#define S3S_CREDS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct aws_creds {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;   /* NULL when none */
	int64_t expiration_ms; /* wall-clock ms; 0 when they never expire */
	const char *source;    /* "environment", "shared-credentials-file", ... */
};
void aws_creds_clear(struct aws_creds *c); /* wipes secrets */

struct creds_env {
	const char *(*getenv)(void *ctx, const char *name); /* NULL: getenv(3) */
	void *ctx;
};

struct creds_chain;
struct creds_chain *creds_chain_new(const struct creds_env *env);
void creds_chain_free(struct creds_chain *c);

/* Resolve credentials now (synchronous providers). Returns 0, or -1 with one
 * line in err naming every provider tried and why it gave nothing. */
int creds_chain_load(struct creds_chain *c, struct buf *err);
/* The current credentials, NULL before a successful load. */
const struct aws_creds *creds_chain_current(const struct creds_chain *c);

/* Shared files helper, also used for region lookup: read key from the
 * profile's section in the config file (AWS_CONFIG_FILE, ~/.aws/config).
 * Returns a new string or NULL. */
char *aws_profile_config_value(const struct creds_env *env, const char *key);

#endif
