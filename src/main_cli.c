/* main_cli.c - s3status, the operator's CLI: the daemon's configuration plus
 * one subcommand (send, get, summary, dlq redrive, check; see cli.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"
#include "json.h"
#include "log.h"
#include "message.h"

#define MAX_PAYLOAD (1024u * 1024)

static const char *const cli_options[] = {
	"command", "batch", "task", "status", "account", "event-time", "payload", "payload-file",
	"task-token", "body", "json!", "history!", "rebuild!", "max", NULL,
};

static void cli_usage(void)
{
	fputs("usage: s3status [--config FILE] [--KEY VALUE ...] COMMAND [OPTIONS]\n"
	      "\n"
	      "commands:\n"
	      "  send     enqueue one status command on queue_url\n"
	      "           --batch B [--task T] --status S [--account A] [--event-time RFC3339]\n"
	      "           [--payload JSON | --payload-file FILE|-] [--task-token TOKEN]\n"
	      "           [--command add-batch-status|add-task-status|get-status]\n"
	      "           or --body FILE|- to send a complete message body as is\n"
	      "  get      --batch B [--task T] [--history]\n"
	      "           current status of a batch (and its task counts) or of one task, from\n"
	      "           summary.json when it is there, else from the history objects;\n"
	      "           --history lists the events (time, status, key) of the batch or task\n"
	      "  summary  --batch B [--rebuild]\n"
	      "           print the batch's summary.json; --rebuild recomputes it from every\n"
	      "           history object and writes it (conditional PUT)\n"
	      "  dlq redrive [--max N]\n"
	      "           move dead letters from dlq_url back to queue_url (body only, without\n"
	      "           the s3statusd.* attributes); each is deleted from the DLQ only after\n"
	      "           it was sent\n"
	      "  check    check the configuration, credentials, queue and bucket access\n"
	      "\n"
	      "options: --json prints machine-readable output (one JSON object).\n"
	      "Configuration keys are those of s3statusd (see s3statusd --help).\n"
	      "exit status: 0 ok, 1 AWS or runtime failure (or nothing found), 2 bad configuration\n"
	      "or usage\n",
	      stdout);
}

/* Read a whole file ("-" is stdin) up to max bytes. */
static char *read_all(const char *path, size_t max, size_t *len, struct buf *err)
{
	struct buf b;
	char chunk[8192];
	ssize_t n;
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);

	buf_init(&b, max);
	if (fd < 0) {
		buf_addf(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_add(&b, chunk, (size_t)n) < 0) {
			buf_addf(err, "%s: %s", path, n < 0 ? strerror(errno) : "too large");
			buf_free(&b);
			b.data = NULL;
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (!b.data && !err->len)
		return xstrdup("");
	return b.data ? buf_steal(&b, len) : NULL;
}

static void add_field(struct buf *b, const char *name, const char *value)
{
	if (!value)
		return;
	buf_addf(b, ",\"%s\":", name);
	json_write_string(b, value, strlen(value));
}

/* Build the message body from the options; NULL with err set on bad input. */
static char *build_body(const struct strlist *x, size_t *len, struct buf *err)
{
	const char *body = config_extra(x, "body");
	const char *task = config_extra(x, "task");
	const char *cmd = config_extra(x, "command");
	const char *payload = config_extra(x, "payload");
	const char *pfile = config_extra(x, "payload-file");
	char *pbuf = NULL;
	size_t plen = 0;
	struct buf b;

	if (body)
		return read_all(body, MAX_PAYLOAD, len, err);
	if (!config_extra(x, "batch")) {
		buf_adds(err, "send: --batch is required (or --body)");
		return NULL;
	}
	if (payload && pfile) {
		buf_adds(err, "send: --payload and --payload-file exclude each other");
		return NULL;
	}
	if (pfile && !(pbuf = read_all(pfile, MAX_PAYLOAD, &plen, err)))
		return NULL;
	if (payload) {
		pbuf = xstrdup(payload);
		plen = strlen(payload);
	}
	if (!cmd)
		cmd = task ? "add-task-status" : "add-batch-status";
	buf_init(&b, 2 * MAX_PAYLOAD);
	buf_adds(&b, "{\"command\":");
	json_write_string(&b, cmd, strlen(cmd));
	add_field(&b, "batch_id", config_extra(x, "batch"));
	add_field(&b, "task_id", task);
	add_field(&b, "status", config_extra(x, "status"));
	add_field(&b, "account", config_extra(x, "account"));
	add_field(&b, "event_time", config_extra(x, "event-time"));
	add_field(&b, "task_token", config_extra(x, "task-token"));
	if (pbuf) {
		/* Verbatim: the payload is any JSON value, checked by the decoder below. */
		buf_adds(&b, ",\"payload\":");
		buf_add(&b, pbuf, plen);
		free(pbuf);
	}
	buf_addc(&b, '}');
	return buf_steal(&b, len);
}

struct send_ctx {
	bool done;
	char *message_id;
	char *error;
};

static void on_sent(struct sqs_result *r, void *arg)
{
	struct send_ctx *sc = arg;

	if (r->resp->ok)
		sc->message_id = xstrdup(r->value);
	else
		sc->error = aws_error_describe(&r->resp->err);
	sc->done = true;
}

static int cmd_send(struct app *a, const struct strlist *x)
{
	struct buf err, reason;
	struct status_msg st = {0};
	struct msg_rules rules = {
		.statuses = (const char *const *)a->cfg.statuses.v,
		.nstatuses = a->cfg.statuses.n,
		.accounts = (const char *const *)a->cfg.accounts.v,
		.naccounts = a->cfg.accounts.n,
	};
	struct send_ctx sc = {0};
	enum msg_error e;
	size_t len = 0;
	char *body;
	int rc = EXIT_CONFIG;

	buf_init(&err, 1024);
	buf_init(&reason, 1024);
	body = build_body(x, &len, &err);
	if (!body) {
		fprintf(stderr, "s3status: %s\n", buf_str(&err));
		goto out;
	}
	/* Refuse here what the daemon would dead-letter. */
	e = msg_decode(body, len, clock_wall_ms(), &rules, &st, &reason);
	status_msg_clear(&st);
	if (e != MSG_OK) {
		fprintf(stderr, "s3status: send: the message would be dead-lettered: %s: %s\n",
			msg_error_code(e), buf_str(&reason));
		goto out;
	}
	if ((rc = app_resolve_queues(a)) != 0)
		goto out;
	sqs_send(a->sqs, a->queue_url, body, len, NULL, 0, on_sent, &sc);
	app_wait(a, &sc.done);
	if (sc.error) {
		fprintf(stderr, "s3status: send: %s\n", sc.error);
		rc = EXIT_FAILURE_RUNTIME;
		goto out;
	}
	if (config_extra(x, "json"))
		printf("{\"message_id\":\"%s\"}\n", sc.message_id);
	else
		printf("sent %s\n", sc.message_id);
	rc = 0;
out:
	free(sc.message_id);
	free(sc.error);
	free(body);
	buf_free(&err);
	buf_free(&reason);
	return rc;
}

/* Known command with the configuration it needs; 0 or EXIT_CONFIG. */
static int check_command(const struct config *cfg, const char *cmd)
{
	static const char *const cmds[] = {"send", "get", "summary", "dlq", "check"};
	bool queue = strcmp(cmd, "get") != 0 && strcmp(cmd, "summary") != 0;
	bool bucket = strcmp(cmd, "send") != 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds) && strcmp(cmd, cmds[i]) != 0; i++)
		;
	if (i == ARRAY_SIZE(cmds)) {
		fprintf(stderr, "s3status: unknown command '%s' (try --help)\n", cmd);
		return EXIT_CONFIG;
	}
	if ((queue && !cfg->queue_url) || (bucket && !cfg->bucket)) {
		fprintf(stderr, "s3status: config: %s: required\n",
			queue && !cfg->queue_url ? "queue_url" : "bucket");
		return EXIT_CONFIG;
	}
	return 0;
}

static int run_command(struct app *a, const char *cmd, const struct strlist *pos,
		       const struct strlist *extra)
{
	int rc;

	if (strcmp(cmd, "send") == 0)
		return cmd_send(a, extra);
	if (strcmp(cmd, "get") == 0)
		return cli_get(a, extra);
	if (strcmp(cmd, "summary") == 0)
		return cli_summary(a, extra);
	if (strcmp(cmd, "dlq") == 0)
		return cli_dlq(a, pos, extra);
	rc = app_resolve_queues(a);
	return rc ? rc : app_check_access(a, true);
}

int main(int argc, char **argv)
{
	struct app a;
	struct strlist pos = {0}, extra = {0};
	struct buf err;
	const char *cmd;
	int rc;

	memset(&a, 0, sizeof(a));
	/* It signs with the secret key too: no core file with it inside. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	buf_init(&err, 4096);
	a.src = (struct config_source){.argc = argc, .argv = argv, .positional = &pos,
				       .extra_options = cli_options, .extra = &extra};
	rc = config_load(&a.cfg, &a.src, &err);
	if (rc != 0) {
		fprintf(stderr, "s3status: %s\n", buf_str(&err));
		goto out;
	}
	if (a.cfg.version) {
		printf("s3status %s\n", S3S_VERSION);
		goto out;
	}
	if (a.cfg.help || pos.n == 0) {
		cli_usage();
		rc = a.cfg.help ? 0 : EXIT_CONFIG;
		goto out;
	}
	log_setup(a.cfg.log_level, a.cfg.log_format);
	cmd = pos.v[0];
	if ((rc = check_command(&a.cfg, cmd)) != 0)
		goto out;
	if ((rc = app_open(&a)) != 0)
		goto out;
	rc = run_command(&a, cmd, &pos, &extra);
out:
	if (a.loop)
		app_close(&a);
	config_free(&a.cfg);
	strlist_free(&pos);
	strlist_free(&extra);
	buf_free(&err);
	return rc;
}
