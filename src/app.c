/* app.c - start-up shared by s3statusd and s3status: credentials, region,
 * endpoints, the HTTP engine and the SQS/S3 clients; queue-name lookup and
 * the access check behind --check and READY=1. */
#include "app.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imds.h"
#include "log.h"

static int endpoint(struct app *a, enum aws_service svc, struct aws_endpoint *ep)
{
	char *url = config_endpoint(&a->cfg, &a->src, svc);
	int rc = 0;

	if (!url || aws_endpoint_parse(url, ep) < 0) {
		log_err("config: endpoint_url: cannot use '%s' (an http:// or https:// URL is needed)",
			url ? url : "(none)");
		rc = EXIT_CONFIG;
	}
	free(url);
	return rc;
}

struct region_wait {
	bool done;
	char *region;
	char *why;
};

static void on_imds_region(const char *region, const char *why, void *arg)
{
	struct region_wait *w = arg;

	w->region = region ? xstrdup(region) : NULL;
	w->why = why ? xstrdup(why) : NULL;
	w->done = true;
}

/* Region from instance metadata when nothing else sets it (SPEC section 4;
 * a region that is set but invalid stays an error): err already holds
 * config's "region: not set" line; why instance metadata could not help is
 * added to it. */
/* Loop batching: with this many transfers in flight the daemon is busy
 * enough that waiting APP_BATCH_US for answers to gather costs nothing that
 * matters (an AWS answer takes milliseconds) and saves wake-ups. */
#define APP_BATCH_MIN_ACTIVE 16
#define APP_BATCH_US 500

static bool http_busy(void *ctx)
{
	return http_active(ctx) >= APP_BATCH_MIN_ACTIVE;
}

static int region_from_imds(struct app *a, const struct creds_env *env, struct buf *err)
{
	struct imds *m = creds_chain_imds(a->creds);
	struct region_wait w = {0};
	char *profile_region = aws_profile_config_value(env, "region");
	bool named = a->cfg.region || creds_getenv(env, "AWS_REGION") ||
		     creds_getenv(env, "AWS_DEFAULT_REGION") || profile_region;

	free(profile_region);
	if (!m || named)
		return -1;
	imds_region(m, on_imds_region, &w);
	app_wait(a, &w.done);
	if (!w.region) {
		buf_addf(err, "; instance metadata: %s", w.why);
		free(w.why);
		return -1;
	}
	log_info("region %s from instance metadata", w.region);
	a->cfg.region = w.region;
	return 0;
}

struct creds_wait {
	bool done;
	int rc;
	char *err;
};

static void on_creds(int rc, const char *err, void *arg)
{
	struct creds_wait *w = arg;

	w->rc = rc;
	w->err = err ? xstrdup(err) : NULL;
	w->done = true;
}

/* The whole chain, HTTP providers included, on the loop. */
static int load_creds(struct app *a)
{
	char *sts = config_endpoint(&a->cfg, &a->src, AWS_STS);
	struct creds_wait w = {0};

	creds_chain_start(a->creds, sts, on_creds, &w);
	app_wait(a, &w.done);
	free(sts);
	if (w.rc < 0) {
		log_err("%s", w.err);
		free(w.err);
		return EXIT_FAILURE_RUNTIME;
	}
	log_debug("credentials from %s", creds_chain_current(a->creds)->source);
	return 0;
}

int app_open(struct app *a)
{
	struct buf err;
	struct creds_env env = {.getenv = a->src.getenv, .ctx = a->src.env_ctx};
	struct http_options ho = {
		.ca_file = a->cfg.ca_file,
		.max_total_connections = a->cfg.max_inflight + a->cfg.pollers + 8,
	};
	struct creds_async_options co;
	struct aws_client_options ao;
	struct s3_options so;
	int rc = EXIT_FAILURE_RUNTIME;

	buf_init(&err, 4096);
	/* No xml_init() here: xml_parse() initialises libxml2 on first use, and
	 * the daemon's usual run parses no XML (SQS speaks JSON; S3 answers a
	 * PUT with headers), which keeps ~430 KiB of libxml2 out of RSS. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("libcurl could not be initialised");
		goto out;
	}
	a->loop = loop_new();
	if (!a->loop || !(a->http = http_new(a->loop, &ho))) {
		log_err("cannot set up the event loop or the HTTP engine");
		goto out;
	}
	loop_set_batching(a->loop, APP_BATCH_US, http_busy, a->http);
	a->creds = creds_chain_new(&env);
	co = (struct creds_async_options){.loop = a->loop, .http = a->http,
					  .ca_file = a->cfg.ca_file};
	if (creds_chain_attach(a->creds, &co, &err) < 0) {
		log_err("%s", buf_str(&err));
		goto out;
	}
	if (config_resolve_region(&a->cfg, &a->src, &err) < 0 &&
	    region_from_imds(a, &env, &err) < 0) {
		log_err("%s", buf_str(&err));
		rc = EXIT_CONFIG;
		goto out;
	}
	if ((rc = load_creds(a)) != 0)
		goto out;
	if ((rc = endpoint(a, AWS_SQS, &a->sqs_ep)) || (rc = endpoint(a, AWS_S3, &a->s3_ep)))
		goto out;
	retry_init(&a->retry, NULL);
	ao = (struct aws_client_options){.loop = a->loop, .http = a->http, .creds = a->creds,
					 .region = a->cfg.region, .retry = &a->retry};
	a->aws = aws_client_new(&ao);
	a->sqs = sqs_new(a->aws, &a->sqs_ep);
	so = (struct s3_options){.endpoint = &a->s3_ep, .path_style = a->cfg.s3_path_style,
				 .sse = a->cfg.sse, .sse_kms_key_id = a->cfg.sse_kms_key_id};
	a->s3 = s3_new(a->aws, &so);
	rc = 0;
out:
	buf_free(&err);
	return rc;
}

void app_close(struct app *a)
{
	s3_free(a->s3);
	sqs_free(a->sqs);
	aws_client_free(a->aws);
	creds_chain_free(a->creds); /* before the engine and the loop it uses */
	http_free(a->http);
	loop_free(a->loop);
	aws_endpoint_free(&a->sqs_ep);
	aws_endpoint_free(&a->s3_ep);
	free(a->queue_url);
	free(a->dlq_url);
	a->s3 = NULL;
	a->sqs = NULL;
	a->aws = NULL;
	a->http = NULL;
	a->loop = NULL;
	a->creds = NULL;
	a->queue_url = a->dlq_url = NULL;
	curl_global_cleanup();
}

static void on_wait_idle(struct loop *l, void *arg)
{
	const bool *done = arg;

	if (*done)
		loop_stop(l);
}

void app_wait(struct app *a, const bool *done)
{
	/* The idle hook runs once per turn, after the callbacks of that turn. */
	loop_set_idle(a->loop, on_wait_idle, (void *)done);
	if (!*done)
		loop_run(a->loop);
	loop_set_idle(a->loop, NULL, NULL);
}

struct lookup {
	bool done;
	char *value;
	char *error;
};

static void on_lookup(struct sqs_result *r, void *arg)
{
	struct lookup *lk = arg;

	if (r->resp->ok)
		lk->value = r->value ? xstrdup(r->value) : xstrdup("");
	else
		lk->error = aws_error_describe(&r->resp->err);
	lk->done = true;
}

static bool is_url(const char *s)
{
	return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

static int resolve(struct app *a, const char *key, const char *name, char **out)
{
	struct lookup lk = {0};

	if (is_url(name)) {
		*out = xstrdup(name);
		return 0;
	}
	sqs_get_queue_url(a->sqs, name, on_lookup, &lk);
	app_wait(a, &lk.done);
	if (!lk.value) {
		log_err("%s: cannot resolve queue name '%s': %s", key, name, lk.error);
		free(lk.error);
		return EXIT_FAILURE_RUNTIME;
	}
	*out = lk.value;
	return 0;
}

int app_resolve_queues(struct app *a)
{
	int rc = resolve(a, "queue_url", a->cfg.queue_url, &a->queue_url);

	if (rc == 0 && a->cfg.dlq_url)
		rc = resolve(a, "dlq_url", a->cfg.dlq_url, &a->dlq_url);
	return rc;
}

struct bucket_check {
	bool done;
	char *error;
};

static void on_head_bucket(struct s3_result *r, void *arg)
{
	struct bucket_check *bc = arg;

	if (!r->resp->ok)
		bc->error = aws_error_describe(&r->resp->err);
	bc->done = true;
}

static int check_queue(struct app *a, const char *key, const char *url, bool verbose)
{
	struct lookup lk = {0};

	sqs_check_queue(a->sqs, url, on_lookup, &lk);
	app_wait(a, &lk.done);
	if (lk.error) {
		log_err("check: %s %s: %s", key, url, lk.error);
		free(lk.error);
		return EXIT_FAILURE_RUNTIME;
	}
	free(lk.value);
	if (verbose)
		printf("ok: %s %s is reachable\n", key, url);
	return 0;
}

int app_check_access(struct app *a, bool verbose)
{
	struct bucket_check bc = {0};
	int rc;

	if ((rc = check_queue(a, "queue_url", a->queue_url, verbose)))
		return rc;
	if (a->dlq_url && (rc = check_queue(a, "dlq_url", a->dlq_url, verbose)))
		return rc;
	s3_head_bucket(a->s3, a->cfg.bucket, on_head_bucket, &bc);
	app_wait(a, &bc.done);
	if (bc.error) {
		log_err("check: bucket %s: %s", a->cfg.bucket, bc.error);
		free(bc.error);
		return EXIT_FAILURE_RUNTIME;
	}
	if (verbose)
		printf("ok: bucket %s is reachable\n", a->cfg.bucket);
	return 0;
}
