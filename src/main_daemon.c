/* main_daemon.c - s3statusd: configuration, start-up checks, signals and
 * systemd notification around the pipeline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "pipeline.h"

#define STATUS_PERIOD_MS 10000

struct daemon {
	struct app app;
	struct pipeline *pipeline;
	struct loop_timer *status_timer;
	struct loop_timer *watchdog_timer;
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

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	(void)l;
	if (signo == SIGHUP) {
		log_notice("SIGHUP: configuration reload is not supported yet; ignoring");
		return;
	}
	if (++d->signals > 1) {
		log_warn("second signal: exiting at once; unfinished messages reappear after their visibility timeout");
		_exit(EXIT_FAILURE_RUNTIME);
	}
	log_notice("%s received: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
	sd_notify(0, "STOPPING=1");
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
	if ((rc = app_open(&d.app)) != 0 || (rc = app_resolve_queues(&d.app)) != 0 ||
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
	po = (struct pipeline_options){
		.loop = d.app.loop, .cfg = &d.app.cfg, .sqs = d.app.sqs, .s3 = d.app.s3,
		.retry = &d.app.retry, .queue_url = d.app.queue_url,
		.dlq_url = d.app.dlq_url, .drain = d.app.cfg.drain,
		.on_finished = on_finished, .arg = &d,
	};
	d.pipeline = pipeline_new(&po);
	d.status_timer = loop_timer_new(d.app.loop, on_status_timer, &d);
	d.watchdog_timer = loop_timer_new(d.app.loop, on_watchdog_timer, &d);
	d.last_status_ms = loop_now(d.app.loop);
	loop_timer_arm(d.status_timer, STATUS_PERIOD_MS);
	if (sd_watchdog_enabled(0, &d.watchdog_usec) > 0 && d.watchdog_usec >= 2000)
		loop_timer_arm(d.watchdog_timer, (int64_t)(d.watchdog_usec / 2000));
	log_info("s3statusd %s: %s -> s3://%s/%s%s", S3S_VERSION, d.app.queue_url,
		 d.app.cfg.bucket, d.app.cfg.prefix, d.app.cfg.drain ? " (drain)" : "");
	sd_notify(0, "READY=1\nSTATUS=running");
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
	sd_notify(0, "STOPPING=1");
out:
	loop_timer_free(d.status_timer);
	loop_timer_free(d.watchdog_timer);
	pipeline_free(d.pipeline);
	if (d.app.loop)
		app_close(&d.app);
	config_free(&d.app.cfg);
	return rc;
}
