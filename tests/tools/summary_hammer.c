/* tools/summary_hammer.c - test tool: several summary updaters on one loop,
 * fed one batch's events in a shuffled order at random moments, all writing
 * the same summary.json. Run two at once to have writers in two processes.
 *
 * usage: tool_summary_hammer [daemon config flags: --bucket, --endpoint-url,
 *          --s3-path-style, --region, --prefix, --summary-flush-ms ...]
 *          --batch B --events FILE [--updaters N] [--seed S] [--spread-ms MS]
 * FILE: one event per line, "task<TAB>status<TAB>event_ms<TAB>message_id",
 * task "-" for a batch event.
 * out: {"events":n,"ok":n,"failed":n,"writes":n,"reads":n,"conflicts":n,
 *       "error":"first error"|null}; exit 0 when every event was confirmed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "json.h"
#include "summary.h"

#define MAX_UPDATERS 16
#define MAX_EVENTS 100000

struct event {
	struct status_msg m;
	char *message_id;
	struct loop_timer *timer;
	struct hammer *h;
};

struct hammer {
	struct summary_updater *u[MAX_UPDATERS];
	size_t nu;
	struct event *ev;
	size_t n, ok, failed, done_count;
	bool done;
	char *error;
	uint64_t rng;
};

static uint64_t rnd(struct hammer *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return h->rng;
}

static void on_done(void *arg, bool ok, const char *error)
{
	struct event *e = arg;
	struct hammer *h = e->h;

	if (ok) {
		h->ok++;
	} else {
		h->failed++;
		if (!h->error)
			h->error = xstrdup(error ? error : "?");
	}
	if (++h->done_count == h->n)
		h->done = true;
}

static void on_fire(struct loop *l, void *arg)
{
	struct event *e = arg;
	struct hammer *h = e->h;
	struct summary_updater *u = h->u[rnd(h) % h->nu];

	(void)l;
	if (!summary_updater_add(u, &e->m, e->message_id, on_done, e)) {
		fprintf(stderr, "summary_hammer: event refused\n");
		exit(2);
	}
}

/* Parse FILE into h->ev (batch_id from --batch). */
static int load_events(struct hammer *h, const char *path, const char *batch)
{
	FILE *f = fopen(path, "re");
	char line[2048], *task, *status, *ms, *mid, *save;
	size_t cap = 0;
	int64_t t;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && h->n < MAX_EVENTS) {
		line[strcspn(line, "\n")] = '\0';
		if (!(task = strtok_r(line, "\t", &save)) || !(status = strtok_r(NULL, "\t", &save)) ||
		    !(ms = strtok_r(NULL, "\t", &save)) || !(mid = strtok_r(NULL, "\t", &save)) ||
		    parse_i64(ms, INT64_MIN, INT64_MAX, &t) < 0)
			continue;
		if (h->n == cap) {
			cap = cap ? cap * 2 : 64;
			h->ev = xrealloc(h->ev, cap * sizeof(*h->ev));
		}
		h->ev[h->n++] = (struct event){
			.m = {.command = strcmp(task, "-") ? CMD_ADD_TASK_STATUS : CMD_ADD_BATCH_STATUS,
			      .batch_id = xstrdup(batch),
			      .task_id = strcmp(task, "-") ? xstrdup(task) : NULL,
			      .status = xstrdup(status), .event_time_ms = t},
			.message_id = xstrdup(mid),
			.h = h,
		};
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const opts[] = {"batch", "events", "updaters", "seed", "spread-ms", NULL};
	struct strlist extra = {0};
	struct app a;
	struct buf err;
	struct hammer h = {0};
	struct summary_updater_options uo;
	const struct summary_updater_stats *s;
	int64_t nu = 2, seed = 1, spread = 1000;
	uint64_t writes = 0, reads = 0, conflicts = 0;
	const char *batch, *events;
	size_t i;
	int rc = 2;

	memset(&a, 0, sizeof(a));
	buf_init(&err, 4096);
	a.src = (struct config_source){.argc = argc, .argv = argv, .extra_options = opts,
				       .extra = &extra};
	if (config_load(&a.cfg, &a.src, &err) != 0 || !a.cfg.bucket ||
	    !(batch = config_extra(&extra, "batch")) || !(events = config_extra(&extra, "events"))) {
		fprintf(stderr, "summary_hammer: %s (needs --bucket, --batch, --events)\n",
			buf_str(&err));
		goto out;
	}
	if ((config_extra(&extra, "updaters") &&
	     parse_i64(config_extra(&extra, "updaters"), 1, MAX_UPDATERS, &nu) < 0) ||
	    (config_extra(&extra, "seed") &&
	     parse_i64(config_extra(&extra, "seed"), 1, INT64_MAX, &seed) < 0) ||
	    (config_extra(&extra, "spread-ms") &&
	     parse_i64(config_extra(&extra, "spread-ms"), 0, 600000, &spread) < 0) ||
	    load_events(&h, events, batch) < 0 || h.n == 0) {
		fprintf(stderr, "summary_hammer: bad options or no events in %s\n", events);
		goto out;
	}
	log_setup(a.cfg.log_level, a.cfg.log_format);
	if ((rc = app_open(&a)) != 0)
		goto out;
	h.rng = (uint64_t)seed * 0x9E3779B97F4A7C15ULL;
	uo = (struct summary_updater_options){.loop = a.loop, .s3 = a.s3, .bucket = a.cfg.bucket,
					      .prefix = a.cfg.prefix,
					      .flush_ms = a.cfg.summary_flush_ms};
	for (h.nu = 0; h.nu < (size_t)nu; h.nu++)
		h.u[h.nu] = summary_updater_new(&uo);
	for (i = 0; i < h.n; i++) {
		h.ev[i].timer = loop_timer_new(a.loop, on_fire, &h.ev[i]);
		loop_timer_arm(h.ev[i].timer, spread ? (int64_t)(rnd(&h) % (uint64_t)spread) : 0);
	}
	app_wait(&a, &h.done);
	for (i = 0; i < h.nu; i++) {
		s = summary_updater_stats(h.u[i]);
		writes += s->writes;
		reads += s->reads;
		conflicts += s->conflicts;
		if (summary_updater_pending(h.u[i]) != 0)
			h.failed++;
	}
	buf_reset(&err);
	printf("{\"events\":%zu,\"ok\":%zu,\"failed\":%zu,\"writes\":%llu,\"reads\":%llu,"
	       "\"conflicts\":%llu,\"error\":",
	       h.n, h.ok, h.failed, (unsigned long long)writes, (unsigned long long)reads,
	       (unsigned long long)conflicts);
	if (h.error)
		json_write_string(&err, h.error, strlen(h.error));
	printf("%s}\n", h.error ? buf_str(&err) : "null");
	rc = h.ok == h.n && h.failed == 0 ? 0 : 1;
out:
	for (i = 0; i < h.nu; i++)
		summary_updater_free(h.u[i]);
	for (i = 0; i < h.n; i++) {
		loop_timer_free(h.ev[i].timer);
		status_msg_clear(&h.ev[i].m);
		free(h.ev[i].message_id);
	}
	free(h.ev);
	free(h.error);
	if (a.loop)
		app_close(&a);
	config_free(&a.cfg);
	strlist_free(&extra);
	buf_free(&err);
	return rc;
}
