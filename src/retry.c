/* retry.c - retry classification, full-jitter backoff and the retry quota
 * (the AWS SDKs' standard retry mode). */
#include "retry.h"

#include <curl/curl.h>
#include <string.h>

#include "util.h"

const char *err_class_name(enum err_class c)
{
	static const char *const names[] = {"none", "throttling", "transient", "fatal"};

	return (unsigned)c < ARRAY_SIZE(names) ? names[c] : "?";
}

/* Error codes by class. Names are compared without any "prefix#" of the SQS
 * JSON protocol ("com.amazonaws.sqs#ThrottlingException"). */
static const char *const throttle_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
	"TooManyRequestsException", "ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
	"LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException", "TooManyRequests", "KMS.ThrottlingException",
};
static const char *const transient_codes[] = {
	"RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
	"InternalServerError", "ServiceUnavailable", "ServiceUnavailableException",
	"IDPCommunicationError", "EC2ThrottledException", "KMS.InternalException",
	"AWS.SimpleQueueService.InternalError", "AWS.SimpleQueueService.ServiceUnavailable",
	"OperationAborted", "RequestTimeTooSkewed", "ExpiredToken", "ExpiredTokenException",
};

static bool in_table(const char *code, const char *const *table, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(code, table[i]) == 0)
			return true;
	return false;
}

enum err_class retry_classify(long http_status, int curl_code, const char *aws_code)
{
	const char *code = aws_code;
	const char *hash;

	if (curl_code != CURLE_OK) {
		switch (curl_code) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_GOT_NOTHING:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_WEIRD_SERVER_REPLY:
			return ERR_TRANSIENT;
		default:
			/* A response over our size cap, a bad TLS certificate, a
			 * malformed URL: retrying the same call will not help. */
			return ERR_FATAL;
		}
	}
	if (http_status >= 200 && http_status < 300 && !code)
		return ERR_NONE;
	if (code && (hash = strrchr(code, '#')) != NULL)
		code = hash + 1;
	if (code && *code) {
		if (in_table(code, throttle_codes, ARRAY_SIZE(throttle_codes)))
			return ERR_THROTTLE;
		if (in_table(code, transient_codes, ARRAY_SIZE(transient_codes)))
			return ERR_TRANSIENT;
	}
	if (http_status == 429)
		return ERR_THROTTLE;
	if (http_status == 500 || http_status == 502 || http_status == 503 ||
	    http_status == 504 || http_status == 408)
		return ERR_TRANSIENT;
	return ERR_FATAL;
}

static double default_rand01(void *ctx)
{
	struct retry *r = ctx;
	uint64_t x = r->rng;

	/* xorshift64*: plenty for jitter. */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

void retry_init(struct retry *r, const struct retry_policy *p)
{
	static const struct retry_policy defaults = {
		.base_ms = 100, .cap_ms = 20000, .max_attempts = 3, .quota_max = 500,
		.cost_retry = 5, .cost_timeout = 10, .refund = 1,
	};

	r->p = p ? *p : defaults;
	if (r->p.base_ms <= 0)
		r->p.base_ms = defaults.base_ms;
	if (r->p.cap_ms <= 0)
		r->p.cap_ms = defaults.cap_ms;
	if (r->p.max_attempts <= 0)
		r->p.max_attempts = defaults.max_attempts;
	if (r->p.quota_max <= 0)
		r->p.quota_max = defaults.quota_max;
	if (r->p.cost_retry <= 0)
		r->p.cost_retry = defaults.cost_retry;
	if (r->p.cost_timeout <= 0)
		r->p.cost_timeout = defaults.cost_timeout;
	if (r->p.refund <= 0)
		r->p.refund = defaults.refund;
	if (!r->p.rand01) {
		r->p.rand01 = default_rand01;
		r->p.rand_ctx = r;
	}
	r->quota = r->p.quota_max;
	r->rng = (uint64_t)clock_wall_ms() * 0x9E3779B97F4A7C15ULL | 1;
}

int64_t retry_ceiling_ms(const struct retry *r, int64_t base_ms, int attempt)
{
	int64_t ceil = base_ms;

	if (attempt < 1)
		attempt = 1;
	while (--attempt > 0 && ceil < r->p.cap_ms)
		ceil *= 2;
	return ceil > r->p.cap_ms ? r->p.cap_ms : ceil;
}

double retry_rand01(struct retry *r)
{
	double u = r->p.rand01(r->p.rand_ctx);

	if (u < 0)
		u = 0;
	if (u >= 1)
		u = 0.999999;
	return u;
}

int64_t retry_backoff_ms(struct retry *r, int attempt)
{
	int64_t ceil = retry_ceiling_ms(r, r->p.base_ms, attempt);

	return (int64_t)(retry_rand01(r) * (double)(ceil + 1));
}

bool retry_take(struct retry *r, enum err_class cls, bool timeout)
{
	int cost = timeout ? r->p.cost_timeout : r->p.cost_retry;

	if (cls != ERR_THROTTLE && cls != ERR_TRANSIENT)
		return false;
	if (r->quota < cost)
		return false;
	r->quota -= cost;
	return true;
}

void retry_success(struct retry *r, bool was_retry, bool timeout_retry)
{
	int back = !was_retry ? r->p.refund : timeout_retry ? r->p.cost_timeout : r->p.cost_retry;

	r->quota += back;
	if (r->quota > r->p.quota_max)
		r->quota = r->p.quota_max;
}
