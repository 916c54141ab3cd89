/* creds_async.c - the credentials chain on the event loop: the synchronous
 * providers, then web identity, the container endpoint and instance
 * metadata; temporary credentials refreshed before they expire. */
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "log.h"

/*
 * The chain's life is a small state machine, changed only by set_state():
 *
 *   idle -> loading -> ready <-> refreshing -> backoff -> refreshing ...
 *              \-> failed
 *
 * loading: a source is fetching the first credentials (creds_chain_start's
 * callback comes after). ready: credentials are current; if they expire, the
 * refresh timer is armed some minutes before. refreshing: the source that
 * gave them is asked again; creds_chain_current() keeps answering the old
 * ones meanwhile. backoff: that failed; the old credentials stay in use (even
 * past their expiry, as the SDKs do) and the timer retries with backoff.
 */

#define REFRESH_MARGIN_MS (5 * 60 * 1000LL)
#define REFRESH_JITTER_MS (60 * 1000LL)
#define RETRY_BASE_MS	  1000
#define RETRY_CAP_MS	  (60 * 1000LL)

enum chain_state { CS_IDLE, CS_LOADING, CS_READY, CS_REFRESHING, CS_BACKOFF, CS_FAILED };
static const char *const state_names[] = {"idle",	"loading", "ready",
					  "refreshing", "backoff", "failed"};

/* The asynchronous sources, in chain order after the synchronous ones. */
static const struct creds_source *const sources[] = {
	&creds_web_identity_source,
	&creds_ecs_source,
	&creds_imds_source,
};

struct creds_async {
	struct creds_chain *chain;
	struct creds_io io;
	struct http *meta_http; /* owned */
	struct imds *imds;	/* owned, NULL when disabled */
	char *imds_problem;
	char *sts_endpoint;
	enum chain_state state;
	size_t src_index; /* sources[] index of the source in use */
	const struct creds_source *src;
	void *src_state;
	struct loop_timer *refresh; /* refresh, or retry a failed refresh */
	struct loop_timer *kick;    /* delivers the result of creds_chain_start */
	int failures;		    /* failed refreshes in a row */
	bool warned_expired;
	uint64_t rng;
	struct buf tried; /* "name: why; ..." of the sources that had nothing */
	creds_done_cb done;
	void *done_arg;
	int result_rc;
	char *result_err;
};

static void try_sources(struct creds_async *a, size_t from);
static void creds_async_free(struct creds_async *a);

static void set_state(struct creds_async *a, enum chain_state s)
{
	if (a->state != s)
		log_debug("creds: %s -> %s", state_names[a->state], state_names[s]);
	a->state = s;
}

int64_t creds_refresh_delay_ms(int64_t remaining_ms, uint64_t rnd)
{
	int64_t d;

	if (remaining_ms <= 0)
		return 60000 + (int64_t)(rnd % 15000);
	if (remaining_ms >= 2 * REFRESH_MARGIN_MS)
		d = remaining_ms - REFRESH_MARGIN_MS - (int64_t)(rnd % REFRESH_JITTER_MS);
	else
		d = remaining_ms / 2 - (int64_t)(rnd % (uint64_t)(remaining_ms / 10 + 1));
	return d < 1000 ? 1000 : d;
}

static void drop_source(struct creds_async *a)
{
	if (a->src) {
		a->src->cancel(a->src_state);
		a->src->free(a->src_state);
	}
	a->src = NULL;
	a->src_state = NULL;
}

/* The result of creds_chain_start, delivered from the kick timer. */
static void finish(struct creds_async *a, int rc, const char *err)
{
	set_state(a, rc == 0 ? CS_READY : CS_FAILED);
	if (rc != 0)
		drop_source(a);
	a->result_rc = rc;
	free(a->result_err);
	a->result_err = err ? xstrdup(err) : NULL;
	loop_timer_arm(a->kick, 0);
}

static void on_kick(struct loop *l, void *arg)
{
	struct creds_async *a = arg;
	creds_done_cb cb = a->done;
	void *cb_arg = a->done_arg;
	char *err = a->result_err;
	int rc = a->result_rc;

	(void)l;
	a->done = NULL;
	a->result_err = NULL;
	if (cb)
		cb(rc, err, cb_arg); /* may free the chain: a is not touched after */
	free(err);
}

static void schedule_refresh(struct creds_async *a)
{
	const struct aws_creds *cr = &a->chain->current;
	int64_t remaining = cr->expiration_ms - clock_wall_ms(), delay;
	char when[TIME_ISO_LEN];

	if (!cr->expiration_ms) {
		loop_timer_cancel(a->refresh);
		return;
	}
	delay = creds_refresh_delay_ms(remaining, creds_rand(&a->rng));
	time_fmt_iso(cr->expiration_ms, when);
	if (remaining <= 0)
		log_warn("creds: %s handed out credentials that expired at %s; using them and "
			 "asking again in %lld s",
			 a->src->name, when, (long long)(delay / 1000));
	else
		log_debug("creds: credentials from %s expire at %s; refresh in %lld ms",
			  a->src->name, when, (long long)delay);
	loop_timer_arm(a->refresh, delay);
}

static void refresh_failed(struct creds_async *a, const char *err)
{
	const struct aws_creds *cr = &a->chain->current;
	char when[TIME_ISO_LEN];
	int64_t delay;

	a->failures++;
	set_state(a, CS_BACKOFF);
	delay = creds_backoff_ms(&a->rng, a->failures, RETRY_BASE_MS, RETRY_CAP_MS);
	time_fmt_iso(cr->expiration_ms, when);
	if (cr->expiration_ms && cr->expiration_ms <= clock_wall_ms() && !a->warned_expired) {
		a->warned_expired = true;
		log_warn("creds: the credentials from %s expired at %s and %s still fails (%s); "
			 "using them anyway, retrying in %lld ms",
			 a->src->name, when, a->src->name, err, (long long)delay);
	} else {
		log_warn("creds: refreshing credentials from %s failed (%s); the current ones "
			 "(expiring %s) stay in use, retry %d in %lld ms",
			 a->src->name, err, when, a->failures, (long long)delay);
	}
	loop_timer_arm(a->refresh, delay);
}

static void on_fetch(struct aws_creds *got, const char *err, void *arg)
{
	struct creds_async *a = arg;
	struct buf line;
	char when[TIME_ISO_LEN];

	if (a->state == CS_REFRESHING) {
		if (!got) {
			refresh_failed(a, err);
			return;
		}
		if (a->failures)
			log_notice("creds: %s answers again after %d failed refreshes",
				   a->src->name, a->failures);
		creds_chain_set(a->chain, got, a->src->name);
		a->failures = 0;
		a->warned_expired = false;
		set_state(a, CS_READY);
		time_fmt_iso(a->chain->current.expiration_ms, when);
		log_info("creds: refreshed credentials from %s (expire %s)", a->src->name, when);
		schedule_refresh(a);
		return;
	}
	/* loading */
	if (got) {
		creds_chain_set(a->chain, got, a->src->name);
		schedule_refresh(a);
		finish(a, 0, NULL);
		return;
	}
	buf_init(&line, 0);
	if (a->src->failure_is_absence) {
		buf_addf(&a->tried, "%s%s: %s", a->tried.len ? "; " : "", a->src->name, err);
		drop_source(a);
		try_sources(a, a->src_index + 1);
	} else {
		buf_addf(&line, "creds: %s: %s", a->src->name, err);
		finish(a, -1, buf_str(&line));
	}
	buf_free(&line);
}

static void start_fetch(struct creds_async *a)
{
	struct buf err;

	buf_init(&err, 0);
	if (a->src->fetch(a->src_state, on_fetch, a, &err) < 0)
		on_fetch(NULL, buf_str(&err), a);
	buf_free(&err);
}

static void try_sources(struct creds_async *a, size_t from)
{
	struct buf why, line;
	size_t i;

	buf_init(&why, 0);
	buf_init(&line, 0);
	for (i = from; i < ARRAY_SIZE(sources); i++) {
		void *state = NULL;
		int r;

		buf_reset(&why);
		r = sources[i]->configure(&a->chain->env, &a->io, &state, &why);
		if (r == CREDS_NONE) {
			buf_addf(&a->tried, "%s%s: %s", a->tried.len ? "; " : "", sources[i]->name,
				 buf_str(&why));
			continue;
		}
		if (r == CREDS_REFUSED) {
			buf_addf(&line, "creds: %s: %s", sources[i]->name, buf_str(&why));
			finish(a, -1, buf_str(&line));
			goto out;
		}
		a->src = sources[i];
		a->src_state = state;
		a->src_index = i;
		log_debug("creds: fetching credentials from %s", a->src->name);
		start_fetch(a);
		goto out;
	}
	buf_addf(&line, "creds: no credentials found (%s)", buf_str(&a->tried));
	finish(a, -1, buf_str(&line));
out:
	buf_free(&why);
	buf_free(&line);
}

static void on_refresh_timer(struct loop *l, void *arg)
{
	struct creds_async *a = arg;

	(void)l;
	if (!a->src)
		return;
	set_state(a, CS_REFRESHING);
	start_fetch(a);
}

void creds_chain_start(struct creds_chain *c, const char *sts_endpoint, creds_done_cb cb, void *arg)
{
	struct creds_async *a = c->async;
	struct aws_creds got = {0};
	struct buf why, line;
	const char *name = NULL;
	int r;

	if (!a) {
		cb(-1, "creds: creds_chain_start() before creds_chain_attach()", arg);
		return;
	}
	drop_source(a);
	loop_timer_cancel(a->refresh);
	a->failures = 0;
	a->warned_expired = false;
	free(a->sts_endpoint);
	a->sts_endpoint = sts_endpoint ? xstrdup(sts_endpoint) : NULL;
	a->io.sts_endpoint = a->sts_endpoint;
	a->done = cb;
	a->done_arg = arg;
	buf_reset(&a->tried);
	set_state(a, CS_LOADING);
	buf_init(&why, 0);
	buf_init(&line, 0);
	r = creds_sync_resolve(c, &got, &name, &why, &a->tried);
	if (r == CREDS_OK) {
		creds_chain_set(c, &got, name); /* static: nothing to refresh */
		finish(a, 0, NULL);
	} else if (r == CREDS_REFUSED) {
		buf_addf(&line, "creds: %s: %s", name, buf_str(&why));
		finish(a, -1, buf_str(&line));
	} else {
		try_sources(a, 0);
	}
	aws_creds_clear(&got);
	buf_free(&why);
	buf_free(&line);
}

int creds_chain_attach(struct creds_chain *c, const struct creds_async_options *opt,
		       struct buf *err)
{
	const struct http_options ho = {
	    .ca_file = opt->ca_file,
	    .connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS,
	    .max_total_connections = 4,
	    .no_proxy = true, /* as the SDKs do for IMDS and the container endpoint */
	};
	struct creds_async *a = xcalloc(1, sizeof(*a));
	struct buf why;
	char *ep;

	creds_async_free(c->async);
	c->async = NULL;
	a->chain = c;
	a->rng = creds_rand_seed(a);
	buf_init(&a->tried, 0);
	buf_init(&why, 0);
	if (!(a->meta_http = http_new(opt->loop, &ho))) {
		buf_adds(err, "creds: cannot set up the HTTP engine for the metadata endpoints");
		creds_async_free(a);
		buf_free(&why);
		return -1;
	}
	if (!imds_disabled(&c->env)) {
		if ((ep = imds_endpoint_from_env(&c->env, &why)) != NULL) {
			const struct imds_options io = {
			    .loop = opt->loop, .http = a->meta_http, .endpoint = ep};
			a->imds = imds_new(&io);
			free(ep);
		} else {
			a->imds_problem = xstrdup(buf_str(&why));
		}
	}
	a->io = (struct creds_io){.loop = opt->loop,
				  .http = opt->http,
				  .meta_http = a->meta_http,
				  .imds = a->imds,
				  .imds_problem = a->imds_problem};
	a->refresh = loop_timer_new(opt->loop, on_refresh_timer, a);
	a->kick = loop_timer_new(opt->loop, on_kick, a);
	c->async = a;
	c->async_free = creds_async_free;
	buf_free(&why);
	return 0;
}

struct imds *creds_chain_imds(struct creds_chain *c)
{
	return c && c->async ? c->async->imds : NULL;
}

/* Stop timers and transfers, free the asynchronous part. */
static void creds_async_free(struct creds_async *a)
{
	if (!a)
		return;
	drop_source(a);
	loop_timer_free(a->refresh);
	loop_timer_free(a->kick);
	imds_free(a->imds);
	http_free(a->meta_http);
	free(a->imds_problem);
	free(a->sts_endpoint);
	free(a->result_err);
	buf_free(&a->tried);
	free(a);
}
