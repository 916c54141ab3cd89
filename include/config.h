/* config.h - the daemon's and the CLI's configuration: SPEC section 4 keys
 * from defaults < file < S3STATUSD_* environment < --flags, validated once. */
#ifndef S3S_CONFIG_H
#define S3S_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "util.h"

#define CONFIG_DEFAULT_PATH "/etc/s3statusd/s3statusd.conf"
/* Limits on what the config file and a value may be. */
#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_VALUE 4096

enum record_format { RECORD_FORMAT_RECORD, RECORD_FORMAT_PAYLOAD };

/* A comma-separated list, split and trimmed. */
struct strlist {
	char **v;
	size_t n;
};
bool strlist_contains(const struct strlist *l, const char *s);
/* Append a copy of s. */
void strlist_add(struct strlist *l, const char *s);
/* Free every entry and the array; the list is left empty. */
void strlist_free(struct strlist *l);

struct config {
	char *config_file; /* the file that was read, or NULL */
	char *queue_url;   /* URL, or a queue name to resolve with GetQueueUrl */
	char *bucket;
	char *prefix;
	char *region; /* NULL until resolved (config_resolve_region) */
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
	 * when non-NULL; otherwise they are an error. "--" ends the options. */
	struct strlist *positional;
	/* Options the CLI accepts besides the config keys (e.g. "batch", "json").
	 * Each is "name" (takes a value) or "name!" (a switch). Values land in
	 * extra as "name=value"; a switch lands as "name=1". Read them back with
	 * config_extra(). positional and extra belong to the caller (strlist_free). */
	const char *const *extra_options;
	struct strlist *extra; /* "name=value" entries */
	bool require_queue_and_bucket;
};

/* Load and validate. On error, err holds exactly one line (no newline) naming
 * the key and the problem, where the bad value came from and the value itself
 * cut to 80 bytes:
 *   config: max_receives: must be an integer from 1 to 1000 in /etc/x.conf:3 (got '0')
 *   config: queue_url: required
 * and the return is 2 (the exit status); cfg is then left empty. Returns 0 on
 * success. With --help or --version only argv is looked at. cfg need not be
 * initialised; config_free() it afterwards. */
int config_load(struct config *cfg, const struct config_source *src, struct buf *err);
/* The same with the config file's contents given as text (name is used in
 * messages); --config and S3STATUSD_CONFIG are then ignored. src may be NULL
 * (no flags, no environment). For tests and the fuzzer. */
int config_load_text(struct config *cfg, const struct config_source *src, const char *name,
		     const char *text, size_t len, struct buf *err);
void config_free(struct config *cfg);

/* The value of the last extra option "name" (a switch gives "1"), or NULL. */
const char *config_extra(const struct strlist *extra, const char *name);

/* The effective configuration as a config file ("key = value" lines, every
 * key, unset ones as "key ="), e.g. for --check. Returns 0, or -1 when some
 * value cannot be written so that it reads back the same (it is still written). */
int config_dump(const struct config *cfg, struct buf *out);
/* Name of the i-th config key (table order), NULL past the end. */
const char *config_key_name(size_t i);

/* Region resolution (SPEC section 4): region from config, AWS_REGION,
 * AWS_DEFAULT_REGION, then `region` in the profile's section of the AWS config
 * file (AWS_PROFILE, default "default"). Sets cfg->region and returns 0, or -1
 * with one line in err when no (valid) region can be found. Instance metadata
 * as a last source comes with the asynchronous IMDS client. */
int config_resolve_region(struct config *cfg, const struct config_source *src, struct buf *err);

enum aws_service { AWS_SQS, AWS_S3, AWS_SFN, AWS_STS };
/* Base URL for a service without a trailing slash ("https://sqs.eu-west-1.amazonaws.com",
 * "http://localhost:4566"): the service's own key, then endpoint_url, then the
 * AWS_ENDPOINT_URL_<SVC> and AWS_ENDPOINT_URL environment variables (ignored when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), then AWS (amazonaws.com.cn for cn-
 * regions). Returns a new string, or NULL when nothing overrides the endpoint
 * and cfg->region is not set. STS has no own key. */
char *config_endpoint(const struct config *cfg, const struct config_source *src,
		      enum aws_service svc);

/* Write the usage text for the daemon's flags (generated from the key table). */
void config_usage(struct buf *out, const char *program);

#endif
