/* creds.h - AWS credentials as a chain of providers in the SDK order:
 * environment, shared credentials/config files, web identity (STS), the ECS
 * container endpoint, EC2 instance metadata (IMDSv2); refreshed before expiry. */
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

/* The variable's value, NULL when unset or empty (env NULL: getenv(3)). */
const char *creds_getenv(const struct creds_env *env, const char *name);

struct creds_chain;
struct loop;
struct http;
struct imds;

/* env is copied; NULL means getenv(3). */
struct creds_chain *creds_chain_new(const struct creds_env *env);
/* Wipes the current credentials; stops refreshing. Call it before freeing the
 * HTTP engine and the loop given to creds_chain_attach(). NULL is fine. */
void creds_chain_free(struct creds_chain *c);

/* Resolve credentials now (synchronous providers). Returns 0, or -1 with one
 * line in err: either the provider that refused ("creds: environment:
 * AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") or every provider
 * tried and why it gave nothing. err never holds a secret. On failure the
 * previous credentials (if any) stay current. */
int creds_chain_load(struct creds_chain *c, struct buf *err);
/* The current credentials, NULL before a successful load. Sign with what it
 * returns at the moment of signing: a refresh replaces them. */
const struct aws_creds *creds_chain_current(const struct creds_chain *c);

/* ---- asynchronous: the whole chain on the event loop ---------------------- */

struct creds_async_options {
	struct loop *loop;
	struct http *http;   /* the app's engine: STS (https, ca_file) */
	const char *ca_file; /* for the chain's own metadata engine (https container URI) */
};

/* Give the chain the event loop. The chain makes its own HTTP engine for the
 * metadata endpoints (1 s connect timeout) and, unless AWS_EC2_METADATA_DISABLED
 * is true, an IMDSv2 client. Returns 0, or -1 with one line in err. */
int creds_chain_attach(struct creds_chain *c, const struct creds_async_options *opt,
		       struct buf *err);

/* The chain's instance metadata client (for the region), NULL when instance
 * metadata is disabled, misconfigured, or before attach. */
struct imds *creds_chain_imds(struct creds_chain *c);

/* rc 0: credentials are current; rc -1: err is one line as for
 * creds_chain_load() (never a secret). */
typedef void (*creds_done_cb)(int rc, const char *err, void *arg);

/* Resolve the whole chain after creds_chain_attach(): the synchronous
 * providers first, then web identity (AWS_WEB_IDENTITY_TOKEN_FILE +
 * AWS_ROLE_ARN, STS at sts_endpoint: a base URL such as
 * config_endpoint(AWS_STS) gives, NULL when none is known), the container
 * endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI), instance
 * metadata. cb runs once, from the loop (never synchronously). Temporary
 * credentials are then refreshed some minutes before their Expiration (with
 * jitter) from the source that gave them; when that fails, the current
 * credentials stay in use and the refresh is retried with backoff (up to a
 * minute apart), logged as warnings. Calling it again restarts everything. */
void creds_chain_start(struct creds_chain *c, const char *sts_endpoint, creds_done_cb cb,
		       void *arg);

/* When to refresh credentials that expire in remaining_ms: 5 to 6 minutes
 * before expiry when they last 10 minutes or more, else at about half their
 * remaining life; never sooner than 1 s; a minute when already expired.
 * rnd is a random number (jitter). Exposed for tests. */
int64_t creds_refresh_delay_ms(int64_t remaining_ms, uint64_t rnd);

/* The profile in use: AWS_PROFILE, else "default". Not a copy. */
const char *aws_profile_name(const struct creds_env *env);

/* Shared files helper, also used for region lookup: read key from the
 * profile's section in the config file (AWS_CONFIG_FILE, ~/.aws/config;
 * [profile NAME], or [default]). Keys match case-insensitively. Returns a new
 * string or NULL (no file, no section, no key, or an empty value). */
char *aws_profile_config_value(const struct creds_env *env, const char *key);

#endif
