/* test_imds.c - the IMDSv2 client against the fake instance metadata service
 * (tests/fake_aws): token first and never a token-less GET, one token shared,
 * 401 re-token, retries on 5xx and closed connections, timeouts, 404 without
 * retry, the region, cancelling, and the endpoint/disable settings. */
#include <curl/curl.h>
#include <signal.h>

#include "check.h"
#include "testenv.h"
#include "fake_aws.h"
#include "http.h"
#include "imds.h"
#include "loop.h"

static struct fake_aws fk;

struct got {
	int calls;
	long status;
	char *body;
	char *error;
};

static void on_answer(const struct imds_answer *a, void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->status = a->status;
	free(g->body);
	free(g->error);
	g->body = a->body ? xstrndup(a->body, a->len) : NULL;
	g->error = a->error ? xstrdup(a->error) : NULL;
}

static void got_clear(struct got *g)
{
	free(g->body);
	free(g->error);
	memset(g, 0, sizeof(*g));
}

/* ---- running the loop until something happened --------------------------- */

struct until {
	const int *counter;
	int target;
};

static void on_idle(struct loop *l, void *arg)
{
	struct until *u = arg;

	if (*u->counter >= u->target)
		loop_stop(l);
}

static void on_deadline(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

/* Run until *counter reaches target or ms pass. */
static void run_until(struct loop *l, const int *counter, int target, int64_t ms)
{
	struct until u = {counter, target};
	struct loop_timer *t = loop_timer_new(l, on_deadline, NULL);

	loop_timer_arm(t, ms);
	loop_set_idle(l, on_idle, &u);
	if (*counter < target)
		loop_run(l);
	loop_set_idle(l, NULL, NULL);
	loop_timer_free(t);
}

struct rig {
	struct loop *l;
	struct http *h;
	struct imds *m;
};

static void rig_open(struct rig *r, long timeout_ms)
{
	const struct http_options ho = {.connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS};
	struct imds_options mo = {0};

	r->l = loop_new();
	r->h = http_new(r->l, &ho);
	mo = (struct imds_options){.loop = r->l,
				   .http = r->h,
				   .endpoint = fk.imds,
				   .timeout_ms = timeout_ms,
				   .retry_base_ms = 20};
	r->m = imds_new(&mo);
	fake_cmd(&fk, "imds clear");
	fake_cmd(&fk, "imds set {\"down\": null, \"role\": \"s3statusd-role\", "
		      "\"region\": \"eu-west-3\"}");
}

static void rig_close(struct rig *r)
{
	imds_free(r->m);
	http_free(r->h);
	loop_free(r->l);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_token_first_and_shared(void)
{
	struct rig r;
	struct got a = {0}, b = {0};

	rig_open(&r, 0);
	imds_get(r.m, "/latest/meta-data/iam/security-credentials/", 0, on_answer, &a);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &b);
	CHECK_INT(a.calls + b.calls, 0); /* never synchronously */
	run_until(r.l, &a.calls, 1, 5000);
	run_until(r.l, &b.calls, 1, 5000);
	CHECK_INT(a.calls, 1);
	CHECK_INT(b.calls, 1);
	CHECK(a.error == NULL);
	CHECK_STR(a.body, "s3statusd-role");
	CHECK_STR(b.body, "eu-west-3");
	CHECK_STR(fake_cmd(&fk, "imds first"), "PUT /latest/api/token");
	CHECK_STR(fake_cmd(&fk, "imds header 0 X-aws-ec2-metadata-token-ttl-seconds"), "21600");
	CHECK_INT(fake_count(&fk, "imds count PUT"), 1);
	CHECK_INT(fake_count(&fk, "imds count GET"), 2);
	CHECK_INT(fake_count(&fk, "imds tokenless"), 0);

	/* The token is kept: a later GET needs no PUT. */
	got_clear(&a);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
	run_until(r.l, &a.calls, 1, 5000);
	CHECK_STR(a.body, "eu-west-3");
	CHECK_INT(fake_count(&fk, "imds count PUT"), 1);
	got_clear(&a);
	got_clear(&b);
	rig_close(&r);
}

static void test_retoken_on_401(void)
{
	struct rig r;
	struct got a = {0};

	rig_open(&r, 0);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
	run_until(r.l, &a.calls, 1, 5000);
	CHECK_STR(a.body, "eu-west-3");
	fake_cmd(&fk, "imds call expire_tokens");
	got_clear(&a);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
	run_until(r.l, &a.calls, 1, 5000);
	CHECK_INT(a.calls, 1);
	CHECK_STR(a.body, "eu-west-3");
	/* PUT, GET, GET (401), PUT, GET */
	CHECK_INT(fake_count(&fk, "imds count PUT"), 2);
	CHECK_INT(fake_count(&fk, "imds count GET"), 3);
	CHECK_INT(fake_count(&fk, "imds tokenless"), 0);
	got_clear(&a);
	rig_close(&r);
}

static void test_failures(void)
{
	struct rig r;
	struct got a = {0};

	/* 5xx: three attempts, then the status. */
	rig_open(&r, 0);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
	run_until(r.l, &a.calls, 1, 5000); /* token in hand */
	fake_cmd(&fk, "imds set {\"down\": \"500\"}");
	fake_cmd(&fk, "imds clear");
	got_clear(&a);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
	run_until(r.l, &a.calls, 1, 5000);
	CHECK_INT(a.calls, 1);
	CHECK_STR(a.error, "GET /latest/meta-data/placement/region: HTTP 500");
	CHECK_INT(a.status, 500);
	CHECK_INT(fake_count(&fk, "imds count GET"), IMDS_ATTEMPTS);

	/* The token PUT failing fails the waiting request, after its retries. */
	fake_cmd(&fk, "imds call expire_tokens");
	fake_cmd(&fk, "imds set {\"down\": null}");
	rig_close(&r);
	rig_open(&r, 0);
	fake_cmd(&fk, "imds set {\"down\": \"close\"}");
	got_clear(&a);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
	run_until(r.l, &a.calls, 1, 5000);
	CHECK_INT(a.calls, 1);
	CHECK(a.error && strncmp(a.error, "cannot reach http://127.0.0.1:", 30) == 0);
	CHECK_INT(fake_count(&fk, "imds count PUT"), IMDS_ATTEMPTS);
	CHECK_INT(fake_count(&fk, "imds count GET"), 0);

	/* A hanging service: each attempt ends at the timeout. */
	fake_cmd(&fk, "imds set {\"down\": \"hang\", \"hang_s\": 3}");
	rig_close(&r);
	rig_open(&r, 200);
	fake_cmd(&fk, "imds set {\"down\": \"hang\", \"hang_s\": 3}");
	got_clear(&a);
	{
		int64_t t0 = clock_mono_ms();
		imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
		run_until(r.l, &a.calls, 1, 5000);
		CHECK(clock_mono_ms() - t0 < 2500);
	}
	CHECK_INT(a.calls, 1);
	CHECK(a.error && strstr(a.error, "imed out"));
	fake_cmd(&fk, "imds set {\"down\": null}");
	rig_close(&r);

	/* 404: no retry. */
	rig_open(&r, 0);
	got_clear(&a);
	imds_get(r.m, "/latest/meta-data/nothing-here", 0, on_answer, &a);
	run_until(r.l, &a.calls, 1, 5000);
	CHECK_STR(a.error, "GET /latest/meta-data/nothing-here: HTTP 404");
	CHECK_INT(fake_count(&fk, "imds count GET"), 1);
	got_clear(&a);
	rig_close(&r);

	/* Nothing listening. */
	{
		const struct http_options ho = {.connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS};
		struct loop *l = loop_new();
		struct http *h = http_new(l, &ho);
		struct imds_options mo = {
		    .loop = l, .http = h, .endpoint = "http://127.0.0.1:9", .retry_base_ms = 10};
		struct imds *m = imds_new(&mo);

		CHECK_STR(imds_endpoint(m), "http://127.0.0.1:9");
		imds_get(m, "/latest/meta-data/placement/region", 0, on_answer, &a);
		run_until(l, &a.calls, 1, 5000);
		CHECK(a.error && strncmp(a.error, "cannot reach http://127.0.0.1:9: ", 33) == 0);
		got_clear(&a);
		imds_free(m);
		http_free(h);
		loop_free(l);
	}
}

struct region_got {
	int calls;
	char *region, *err;
};

static void on_region(const char *region, const char *err, void *arg)
{
	struct region_got *g = arg;

	g->calls++;
	g->region = region ? xstrdup(region) : NULL;
	g->err = err ? xstrdup(err) : NULL;
}

static void test_region(void)
{
	static const struct {
		const char *served, *region, *err;
	} rows[] = {
	    {"\"eu-west-3\"", "eu-west-3", NULL},
	    {"\"us-gov-west-1\"", "us-gov-west-1", NULL},
	    {"\"EU WEST\"", NULL,
	     "GET /latest/meta-data/placement/region: the answer is not a region name"},
	    {"\"eu-west-3\\n\"", NULL,
	     "GET /latest/meta-data/placement/region: the answer is not a region name"},
	    {"null", NULL, "GET /latest/meta-data/placement/region: HTTP 404"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct rig r;
		struct region_got g = {0};

		rig_open(&r, 0);
		fake_cmd(&fk, "imds set {\"region\": %s}", rows[i].served);
		imds_region(r.m, on_region, &g);
		run_until(r.l, &g.calls, 1, 5000);
		CHECK_INT(g.calls, 1);
		if (rows[i].region)
			CHECK_STR(g.region, rows[i].region);
		else
			CHECK(g.region == NULL);
		if (rows[i].err)
			CHECK_STR(g.err, rows[i].err);
		else
			CHECK(g.err == NULL);
		free(g.region);
		free(g.err);
		rig_close(&r);
	}
}

/* Cancelled requests never call back; freeing with requests in flight is clean. */
static void test_cancel(void)
{
	struct rig r;
	struct got a = {0}, b = {0};
	struct imds_req *q;

	rig_open(&r, 0);
	q = imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &b);
	imds_cancel(q);
	imds_cancel(NULL);
	run_until(r.l, &b.calls, 1, 5000);
	CHECK_INT(a.calls, 0);
	CHECK_INT(b.calls, 1);
	imds_get(r.m, "/latest/meta-data/placement/region", 0, on_answer, &a);
	rig_close(&r); /* in flight */
	CHECK_INT(a.calls, 0);
	imds_free(NULL);
	got_clear(&b);
}

static void test_settings(void)
{
	static const struct {
		const char *endpoint, *mode, *disabled;
		const char *expect; /* NULL: refused */
		bool off;
	} rows[] = {
	    {NULL, NULL, NULL, IMDS_DEFAULT_ENDPOINT, false},
	    {"http://127.0.0.1:8080/", NULL, "false", "http://127.0.0.1:8080", false},
	    {"https://imds.example//", NULL, NULL, "https://imds.example", false},
	    {NULL, "IPv6", "TRUE", IMDS_DEFAULT_ENDPOINT_IPV6, true},
	    {NULL, "ipv4", "true", IMDS_DEFAULT_ENDPOINT, true},
	    {NULL, "ipx", NULL, NULL, false},
	    {"169.254.169.254", NULL, "yes", NULL, false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct env e = {{{"AWS_CONFIG_FILE", "/nonexistent"}}};
		struct creds_env ce = {env_lookup, &e};
		struct buf why;
		char *ep;
		size_t k = 1;

		if (rows[i].endpoint) {
			e.kv[k][0] = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
			e.kv[k++][1] = rows[i].endpoint;
		}
		if (rows[i].mode) {
			e.kv[k][0] = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE";
			e.kv[k++][1] = rows[i].mode;
		}
		if (rows[i].disabled) {
			e.kv[k][0] = "AWS_EC2_METADATA_DISABLED";
			e.kv[k++][1] = rows[i].disabled;
		}
		buf_init(&why, 0);
		ep = imds_endpoint_from_env(&ce, &why);
		if (rows[i].expect) {
			CHECK_STR(ep, rows[i].expect);
		} else {
			CHECK(ep == NULL);
			CHECK(why.len > 0);
		}
		CHECK_INT(imds_disabled(&ce), rows[i].off);
		free(ep);
		buf_free(&why);
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	fake_start(&fk);
	test_token_first_and_shared();
	test_retoken_on_401();
	test_failures();
	test_region();
	test_cancel();
	test_settings();
	fake_stop(&fk);
	curl_global_cleanup();
	return check_done("test_imds");
}
