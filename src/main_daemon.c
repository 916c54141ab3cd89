/* main_daemon.c - s3statusd: configuration, start-up checks, signals and
 * systemd notification around the pipeline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"

#define STATUS_PERIOD_MS 10000 /* STATUS= and metrics_file */
/* While stopping, EXTEND_TIMEOUT_USEC every STOP_EXTEND_PERIOD_MS asks for
 * STOP_EXTEND_USEC more, for at most shutdown_timeout + STOP_EXTEND_MARGIN_MS:
 * a drain longer than TimeoutStopSec= is not killed while the loop turns. */
#define STOP_EXTEND_PERIOD_MS 5000
#define STOP_EXTEND_USEC 15000000ULL
#define STOP_EXTEND_MARGIN_MS 30000

struct daemon {
	struct app app;
	struct pipeline *pipeline;
	struct aws_endpoint sfn_ep;
	struct sfn *sfn;
	struct summary_updater *summary;
	struct loop_timer *status_timer;
	struct loop_timer *watchdog_timer;
	struct loop_timer *stop_timer;
	struct metrics *metrics;
	int64_t stop_started_ms;
	uint64_t watchdog_usec;
	int signals;
	bool finished;
	uint64_t last_stored;
	int64_t last_status_ms;
};

static void on_finished(void *arg)
{
	struct daemon *d = arg;

	d->finished = true;
	loop_stop(d->app.loop);
}

/* Keys a SIGHUP applies at once; any other change needs a restart. */
static bool reloadable(const char *line)
{
	return strncmp(line, "log_level = ", 12) == 0 || strncmp(line, "log_format = ", 13) == 0 ||
	       strncmp(line, "metrics_file = ", 15) == 0;
}

/* SIGHUP: re-read the configuration (same --config, flags and environment)
 * without touching in-flight work. log_level, log_format and metrics_file
 * take effect at once; other changed keys are named in one notice and wait
 * for a restart. A configuration that does not load changes nothing. */
static void reload(struct daemon *d)
{
	struct config nc;
	struct buf err, cur, next, later;
	struct timespec ts;
	const char *a, *b;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	buf_init(&err, 4096);
	buf_init(&cur, 0);
	buf_init(&next, 0);
	buf_init(&later, 0);
	if (config_load(&nc, &d->app.src, &err) != 0) {
		log_err("SIGHUP: %s; keeping the running configuration", buf_str(&err));
		goto out;
	}
	(void)config_resolve_region(&nc, &d->app.src, &err); /* as at start-up */
	config_dump(&d->app.cfg, &cur);
	config_dump(&nc, &next);
	/* Both dumps list every key once, in the same order. */
	for (a = buf_str(&cur), b = buf_str(&next); *a && *b;) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if ((la != lb || memcmp(a, b, la) != 0) && !reloadable(a))
			buf_addf(&later, "%s%.*s", later.len ? ", " : "", (int)strcspn(a, " "), a);
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	d->app.cfg.log_level = nc.log_level;
	d->app.cfg.log_format = nc.log_format;
	log_setup(d->app.cfg.log_level, d->app.cfg.log_format);
	free(d->app.cfg.metrics_file);
	d->app.cfg.metrics_file = nc.metrics_file;
	nc.metrics_file = NULL;
	metrics_set_path(d->metrics, d->app.cfg.metrics_file);
	metrics_write(d->metrics, pipeline_stats(d->pipeline));
	if (later.len)
		log_notice("SIGHUP: configuration re-read from %s; changed keys that need a restart: %s",
			   nc.config_file ? nc.config_file : "(no file)", buf_str(&later));
	else
		log_notice("SIGHUP: configuration re-read from %s",
			   nc.config_file ? nc.config_file : "(no file)");
	config_free(&nc);
out:
	buf_free(&err);
	buf_free(&cur);
	buf_free(&next);
	buf_free(&later);
	sd_notify(0, "READY=1\nSTATUS=running");
}

static void on_stop_timer(struct loop *l, void *arg)
{
	struct daemon *d = arg;

	if (loop_now(l) - d->stop_started_ms > d->app.cfg.shutdown_timeout * 1000 +
						     STOP_EXTEND_MARGIN_MS)
		return; /* stuck for good: let TimeoutStopSec= end it */
	sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=stopping: %u in flight",
		   STOP_EXTEND_USEC, pipeline_stats(d->pipeline)->inflight);
	loop_timer_arm(d->stop_timer, STOP_EXTEND_PERIOD_MS);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	(void)l;
	if (signo == SIGHUP) {
		reload(d);
		return;
	}
	if (++d->signals > 1) {
		log_warn("second signal: exiting at once; unfinished messages reappear after their visibility timeout");
		_exit(EXIT_FAILURE_RUNTIME);
	}
	log_notice("%s received: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
	sd_notify(0, "STOPPING=1");
	d->stop_started_ms = loop_now(l);
	on_stop_timer(l, d);
	pipeline_stop(d->pipeline);
}

static void report_status(struct daemon *d)
{
	const struct pipeline_stats *st = pipeline_stats(d->pipeline);
	int64_t now = loop_now(d->app.loop);
	double secs = (double)(now - d->last_status_ms) / 1000.0;
	double rate = secs > 0 ? (double)(st->stored - d->last_stored) / secs : 0;

	sd_notifyf(0, "STATUS=%.1f msg/s, %u in flight, %llu stored, %llu dead-lettered%s%s", rate,
		   st->inflight, (unsigned long long)st->stored,
		   (unsigned long long)st->dead_lettered, st->last_error[0] ? ", last error: " : "",
		   st->last_error);
	d->last_stored = st->stored;
	d->last_status_ms = now;
}

static void on_status_timer(struct loop *l, void *arg)
{
	struct daemon *d = arg;

	(void)l;
	report_status(d);
	metrics_write(d->metrics, pipeline_stats(d->pipeline));
	loop_timer_arm(d->status_timer, STATUS_PERIOD_MS);
}

/* WATCHDOG=1 comes from a loop timer: if the loop stops turning, systemd
 * stops hearing from us and restarts the service. */
static void on_watchdog_timer(struct loop *l, void *arg)
{
	struct daemon *d = arg;

	(void)l;
	sd_notify(0, "WATCHDOG=1");
	loop_timer_arm(d->watchdog_timer, (int64_t)(d->watchdog_usec / 2000));
}

/* The Step Functions client (answers to task tokens) and the summary.json
 * updater, both used by the pipeline after a record is stored. */
static int open_answers(struct daemon *d)
{
	char *url = config_endpoint(&d->app.cfg, &d->app.src, AWS_SFN);

	if (!url || aws_endpoint_parse(url, &d->sfn_ep) < 0) {
		log_err("config: sfn_endpoint_url: cannot use '%s' (an http:// or https:// URL is needed)",
			url ? url : "(none)");
		free(url);
		return EXIT_CONFIG;
	}
	free(url);
	d->sfn = sfn_new(d->app.aws, &d->sfn_ep);
	if (d->app.cfg.summary)
		d->summary = summary_updater_new(&(struct summary_updater_options){
			.loop = d->app.loop,
			.s3 = d->app.s3,
			.bucket = d->app.cfg.bucket,
			.prefix = d->app.cfg.prefix,
			.flush_ms = d->app.cfg.summary_flush_ms,
		});
	return 0;
}

static void usage(const char *prog)
{
	struct buf b;

	buf_init(&b, 0);
	config_usage(&b, prog);
	fputs(buf_str(&b), stdout);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	struct daemon d;
	struct buf err;
	struct pipeline_options po;
	int rc;

	memset(&d, 0, sizeof(d));
	/* No core files with keys in them; secrets are wiped after use too. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	buf_init(&err, 4096);
	d.app.src = (struct config_source){.argc = argc, .argv = argv,
					   .require_queue_and_bucket = true};
	rc = config_load(&d.app.cfg, &d.app.src, &err);
	if (rc != 0) {
		fprintf(stderr, "s3statusd: %s\n", buf_str(&err));
		buf_free(&err);
		return rc;
	}
	buf_free(&err);
	if (d.app.cfg.help) {
		usage(argv[0]);
		goto out;
	}
	if (d.app.cfg.version) {
		printf("s3statusd %s\n", S3S_VERSION);
		goto out;
	}
	log_setup(d.app.cfg.log_level, d.app.cfg.log_format);
	d.metrics = metrics_new(d.app.cfg.check ? NULL : d.app.cfg.metrics_file);
	if ((rc = app_open(&d.app)) != 0)
		goto out;
	/* The watchdog runs from here on: the access checks turn the loop too. */
	d.watchdog_timer = loop_timer_new(d.app.loop, on_watchdog_timer, &d);
	if (sd_watchdog_enabled(0, &d.watchdog_usec) > 0 && d.watchdog_usec >= 2000)
		loop_timer_arm(d.watchdog_timer, (int64_t)(d.watchdog_usec / 2000));
	sd_notify(0, "STATUS=starting: checking the queue and the bucket");
	if ((rc = app_resolve_queues(&d.app)) != 0 ||
	    (rc = app_check_access(&d.app, d.app.cfg.check)) != 0)
		goto out;
	if (d.app.cfg.check) {
		printf("ok: configuration, credentials (%s), queue and bucket are usable\n",
		       creds_chain_current(d.app.creds)->source);
		goto out;
	}
	if (loop_signal(d.app.loop, SIGTERM, on_signal, &d) < 0 ||
	    loop_signal(d.app.loop, SIGINT, on_signal, &d) < 0 ||
	    loop_signal(d.app.loop, SIGHUP, on_signal, &d) < 0) {
		log_err("cannot set up signal handling");
		rc = EXIT_FAILURE_RUNTIME;
		goto out;
	}
	if ((rc = open_answers(&d)) != 0)
		goto out;
	po = (struct pipeline_options){
		.loop = d.app.loop, .cfg = &d.app.cfg, .sqs = d.app.sqs, .s3 = d.app.s3,
		.retry = &d.app.retry, .queue_url = d.app.queue_url,
		.dlq_url = d.app.dlq_url, .drain = d.app.cfg.drain,
		.sfn = d.sfn, .summary = d.summary,
		.on_finished = on_finished, .arg = &d,
	};
	d.pipeline = pipeline_new(&po);
	d.status_timer = loop_timer_new(d.app.loop, on_status_timer, &d);
	d.stop_timer = loop_timer_new(d.app.loop, on_stop_timer, &d);
	d.last_status_ms = loop_now(d.app.loop);
	loop_timer_arm(d.status_timer, STATUS_PERIOD_MS);
	log_info("s3statusd %s: %s -> s3://%s/%s%s", S3S_VERSION, d.app.queue_url,
		 d.app.cfg.bucket, d.app.cfg.prefix, d.app.cfg.drain ? " (drain)" : "");
	sd_notify(0, "READY=1\nSTATUS=running");
	metrics_write(d.metrics, pipeline_stats(d.pipeline));
	pipeline_start(d.pipeline);
	if (loop_run(d.app.loop) < 0) {
		log_err("event loop failed");
		rc = EXIT_FAILURE_RUNTIME;
	}
	if (d.finished) {
		const struct pipeline_stats *st = pipeline_stats(d.pipeline);

		log_info("finished: %llu received, %llu stored, %llu dead-lettered, %llu deleted, %llu parked, %llu released",
			 (unsigned long long)st->received, (unsigned long long)st->stored,
			 (unsigned long long)st->dead_lettered, (unsigned long long)st->deleted,
			 (unsigned long long)st->parked, (unsigned long long)st->released);
	}
	metrics_write(d.metrics, pipeline_stats(d.pipeline));
	sd_notify(0, "STOPPING=1");
out:
	loop_timer_free(d.status_timer);
	loop_timer_free(d.watchdog_timer);
	loop_timer_free(d.stop_timer);
	metrics_free(d.metrics);
	pipeline_free(d.pipeline);
	summary_updater_free(d.summary);
	sfn_free(d.sfn);
	aws_endpoint_free(&d.sfn_ep);
	if (d.app.loop)
		app_close(&d.app);
	config_free(&d.app.cfg);
	return rc;
}
