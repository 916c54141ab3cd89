/* config.h - the daemon's and the CLI's configuration: SPEC section 4 keys
 * from defaults < file < S3STATUSD_* environment < --flags, validated once. */
#ifndef S3S_CONFIG_H
#define S3S_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "util.h"

#define CONFIG_DEFAULT_PATH "/etc/s3statusd/s3statusd.conf"

enum record_format { RECORD_FORMAT_RECORD, RECORD_FORMAT_PAYLOAD };

/* A comma-separated list, split and trimmed. */
struct strlist {
	char **v;
	size_t n;
};
bool strlist_contains(const struct strlist *l, const char *s);

struct config {
	char *config_file; /* the file that was read, or NULL */
	char *queue_url;   /* URL, or a queue name to resolve with GetQueueUrl */
	char *bucket;
	char *prefix;
	char *region; /* NULL until resolved (config_resolve_aws) */
	char *endpoint_url, *sqs_endpoint_url, *s3_endpoint_url, *sfn_endpoint_url;
	bool s3_path_style;
	char *dlq_url;
	int64_t max_receives;
	int64_t visibility_timeout; /* seconds */
	int64_t wait_time;          /* seconds 0..20 */
	int64_t max_inflight;
	int64_t pollers;
	bool summary;
	int64_t summary_flush_ms;
	struct strlist accounts; /* empty: any */
	struct strlist statuses; /* never empty after load */
	enum record_format record_format;
	char *sse;            /* NULL, "AES256" or "aws:kms" */
	char *sse_kms_key_id; /* only with aws:kms */
	char *ca_file;
	int64_t shutdown_timeout; /* seconds */
	enum log_level log_level;
	enum log_format log_format;
	char *metrics_file;
	/* Program switches (not config keys). */
	bool drain, check, version, help;
};

/* Where configuration comes from; tests inject env and argv. */
struct config_source {
	int argc;
	char **argv; /* argv[0] is the program name */
	/* getenv replacement; NULL means getenv(3). */
	const char *(*getenv)(void *ctx, const char *name);
	void *env_ctx;
	/* Positional arguments (the CLI's subcommand words) are collected here
	 * when non-NULL; otherwise they are an error. */
	struct strlist *positional;
	/* Options the CLI accepts besides the config keys (e.g. "batch", "json").
	 * Each is "name" (takes a value) or "name!" (a switch). Values land in extra. */
	const char *const *extra_options;
	struct strlist *extra; /* "name=value" entries */
	bool require_queue_and_bucket;
};

/* Load and validate. On error, err holds one line naming the key and the
 * problem ("config: max_receives: must be an integer from 1 to 1000, got 'x'")
 * and the return is 2 (the exit status). Returns 0 on success. */
int config_load(struct config *cfg, const struct config_source *src, struct buf *err);
void config_free(struct config *cfg);

/* Region and endpoint resolution (SPEC section 4): region from config,
 * AWS_REGION, AWS_DEFAULT_REGION, then the profile's config file. Returns 0, or
 * -1 with a message in err when no region can be found. */
int config_resolve_region(struct config *cfg, const struct config_source *src, struct buf *err);

enum aws_service { AWS_SQS, AWS_S3, AWS_SFN, AWS_STS };
/* Base URL for a service without a trailing slash ("https://sqs.eu-west-1.amazonaws.com",
 * "http://localhost:4566"): the service's own key, then endpoint_url, then the
 * AWS_ENDPOINT_URL_<SVC> and AWS_ENDPOINT_URL environment variables, then AWS. */
char *config_endpoint(const struct config *cfg, const struct config_source *src,
		      enum aws_service svc);

/* Write the usage text for the daemon's flags. */
void config_usage(struct buf *out, const char *program);

#endif
