/* creds.h - AWS credentials as a chain of providers in the SDK order. This
 * step has the environment and the shared credentials/config files; web
 * identity, container and instance-metadata providers slot into the chain. */
#ifndef S3S_CREDS_H
#define S3S_CREDS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* Largest shared credentials/config file read (a bigger one is an error). */
#define CREDS_MAX_FILE (1024 * 1024)

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
/* env is copied; NULL means getenv(3). */
struct creds_chain *creds_chain_new(const struct creds_env *env);
void creds_chain_free(struct creds_chain *c); /* wipes the current credentials */

/* Resolve credentials now (synchronous providers). Returns 0, or -1 with one
 * line in err: either the provider that refused ("creds: environment:
 * AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") or every provider
 * tried and why it gave nothing. err never holds a secret. On failure the
 * previous credentials (if any) stay current. */
int creds_chain_load(struct creds_chain *c, struct buf *err);
/* The current credentials, NULL before a successful load. */
const struct aws_creds *creds_chain_current(const struct creds_chain *c);

/* The profile in use: AWS_PROFILE, else "default". Not a copy. */
const char *aws_profile_name(const struct creds_env *env);

/* Shared files helper, also used for region lookup: read key from the
 * profile's section in the config file (AWS_CONFIG_FILE, ~/.aws/config;
 * [profile NAME], or [default]). Keys match case-insensitively. Returns a new
 * string or NULL (no file, no section, no key, or an empty value). */
char *aws_profile_config_value(const struct creds_env *env, const char *key);

#endif
