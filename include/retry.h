/* retry.h - the one retry policy for every AWS call, after the SDKs'
 * "standard" mode: one classification table, exponential backoff with full
 * jitter capped at 20 s, and a retry quota so a storm of failures does not
 * become a storm of requests. Randomness is injectable. */
#ifndef S3S_RETRY_H
#define S3S_RETRY_H

#include <stdbool.h>
#include <stdint.h>

enum err_class {
	ERR_NONE = 0,   /* success */
	ERR_THROTTLE,   /* slow down: retry with backoff, costs quota */
	ERR_TRANSIENT,  /* 5xx, timeouts, resets: retry with backoff */
	ERR_FATAL,      /* will not succeed by retrying the same call */
};
const char *err_class_name(enum err_class c);

/* Classify one outcome: curl_code != 0 means no complete HTTP exchange;
 * aws_code is the service's error code (`__type` or XML <Code>), may be NULL. */
enum err_class retry_classify(long http_status, int curl_code, const char *aws_code);

struct retry_policy {
	int64_t base_ms;   /* first backoff ceiling; default 100 */
	int64_t cap_ms;    /* default 20000 */
	int max_attempts;  /* per call, first try included; default 3 */
	int quota_max;     /* default 500 */
	int cost_retry;    /* default 5 */
	int cost_timeout;  /* default 10 */
	int refund;        /* on success; default 1 */
	/* Uniform random in [0, 1); default drand48-free xorshift seeded from
	 * the clock. Tests pin it. */
	double (*rand01)(void *ctx);
	void *rand_ctx;
};

struct retry {
	struct retry_policy p;
	int quota;
	uint64_t rng; /* state of the default generator */
};

void retry_init(struct retry *r, const struct retry_policy *p); /* p may be NULL */
/* Backoff before attempt number `attempt` (1 = first retry): a uniform draw
 * in [0, min(cap, base * 2^(attempt-1))]. */
int64_t retry_backoff_ms(struct retry *r, int attempt);
/* base_ms * 2^(attempt-1), capped at cap_ms: the ceiling other backoffs
 * (parked messages, failed receives) draw their jitter under. */
int64_t retry_ceiling_ms(const struct retry *r, int64_t base_ms, int attempt);
/* A draw in [0, 1) from the policy's (injectable) generator. */
double retry_rand01(struct retry *r);
/* Take quota for a retry of this class; false means do not retry now. */
bool retry_take(struct retry *r, enum err_class cls, bool timeout);
/* Give quota back after a success (more when the success was a retry). */
void retry_success(struct retry *r, bool was_retry, bool timeout_retry);

#endif
