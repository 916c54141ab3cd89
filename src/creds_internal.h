/* creds_internal.h - what the credentials modules share privately: the
 * chain's state, provider answers, the asynchronous source interface. */
#ifndef S3S_CREDS_INTERNAL_H
#define S3S_CREDS_INTERNAL_H

#include <stdint.h>
#include <unistd.h>

#include "creds.h"
#include "http.h"
#include "imds.h"
#include "loop.h"
#include "util.h"

/* What a provider answers: credentials, nothing configured here (try the
 * next one), or configured but wrong (stop: never fall through silently to
 * another identity). */
enum { CREDS_REFUSED = -1, CREDS_NONE = 0, CREDS_OK = 1 };

struct creds_async; /* creds_async.c */

struct creds_chain {
	struct creds_env env;
	struct aws_creds current;
	bool have;
	struct creds_async *async; /* NULL until creds_chain_attach() */
	/* Set by creds_chain_attach(): creds.c frees the asynchronous part
	 * without a link-time tie to it (the config fuzzer links creds.c alone). */
	void (*async_free)(struct creds_async *a);
};

/* creds.c: run the synchronous providers (environment, shared files). On
 * CREDS_OK got is filled and *name set; on CREDS_REFUSED *name and why say
 * which and why; on CREDS_NONE tried lists "name: why; ..." for each. */
int creds_sync_resolve(struct creds_chain *c, struct aws_creds *got, const char **name,
		       struct buf *why, struct buf *tried);
/* Make got (moved, left empty) the current credentials. */
void creds_chain_set(struct creds_chain *c, struct aws_creds *got, const char *source);

/* Read a file holding a secret (a token) into one buffer sized once; the
 * caller wipes and frees *data. Regular files of at most max bytes.
 * 0, or -1 with errno (EFBIG when larger). */
int creds_read_secret_file(const char *path, size_t max, char **data, size_t *len);

/* What asynchronous sources get from the chain. */
struct creds_io {
	struct loop *loop;
	struct http *http;	  /* the app's engine: STS (TLS, ca_file) */
	struct http *meta_http;	  /* link-local metadata endpoints: 1 s connect timeout */
	struct imds *imds;	  /* NULL when instance metadata is disabled */
	const char *imds_problem; /* why imds is NULL when it is not disabled */
	const char *sts_endpoint; /* NULL when no region (nor override) is known */
};

/* got is NULL on failure (err: one line, never a secret); on success the
 * callee takes the strings (and leaves *got empty). */
typedef void (*creds_fetch_cb)(struct aws_creds *got, const char *err, void *arg);

struct creds_source {
	const char *name;
	/* Is the source configured? CREDS_NONE (why: what was looked at),
	 * CREDS_REFUSED (why) or CREDS_OK with *state made. */
	int (*configure)(const struct creds_env *env, const struct creds_io *io, void **state,
			 struct buf *why);
	/* Start fetching: 0 and cb runs once later (never synchronously) unless
	 * cancel() is called first, or -1 with err (nothing started). */
	int (*fetch)(void *state, creds_fetch_cb cb, void *arg, struct buf *err);
	void (*cancel)(void *state);
	void (*free)(void *state);
	/* A failed fetch means "not here" (go on in the chain) rather than an
	 * error of something configured: true for instance metadata. */
	bool failure_is_absence;
};
extern const struct creds_source creds_web_identity_source; /* creds_sts.c */
extern const struct creds_source creds_ecs_source;	    /* creds_ecs.c */
extern const struct creds_source creds_imds_source;	    /* creds_imds.c */

/* Jitter for retries and refreshes (not for anything secret). */
static inline uint64_t creds_rand_seed(const void *salt)
{
	uint64_t s = (uint64_t)clock_mono_ms() ^ ((uint64_t)(uintptr_t)salt << 17) ^
		     ((uint64_t)getpid() << 40);

	return s ? s : 0x9e3779b97f4a7c15ULL;
}

static inline uint64_t creds_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Exponential delay for the nth retry (1-based): base doubling up to cap,
 * then "equal jitter" (half fixed, half random). */
static inline int64_t creds_backoff_ms(uint64_t *rng, int n, int64_t base, int64_t cap)
{
	int64_t d = base;

	while (--n > 0 && d < cap)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + (int64_t)(creds_rand(rng) % (uint64_t)(d / 2 + 1));
}

#endif
