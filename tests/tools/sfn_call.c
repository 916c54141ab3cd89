/* tools/sfn_call.c - test tool: one Step Functions call through src/sfn.c
 * with the daemon's configuration (endpoint from sfn_endpoint_url...).
 *
 * usage: tool_sfn_call [config flags] --op success|failure|heartbeat --token T
 *          [--s3-key K --status S --batch B [--task T]]   (success output)
 *          [--error E] [--cause-file F]                    (failure)
 * out: {"outcome":"ok"|"final"|"failed","retryable":b,"code":..,"attempts":n}
 *      or {"refused":true} when a limit stopped the call before sending.
 * exit: 0 when the call ran or was refused, 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "json.h"
#include "sfn.h"

struct call {
	bool done;
	struct buf out;
};

static void on_done(struct sfn_result *r, void *arg)
{
	struct call *c = arg;
	const char *code = r->resp->ok ? NULL : r->resp->err.code;

	buf_addf(&c->out, "{\"outcome\":\"%s\",\"retryable\":%s,\"attempts\":%d,\"code\":",
		 sfn_outcome_name(r->outcome), r->retryable ? "true" : "false", r->resp->attempts);
	if (code)
		json_write_string(&c->out, code, strlen(code));
	else
		buf_adds(&c->out, "null");
	buf_adds(&c->out, "}\n");
	c->done = true;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, 0);
	buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_steal(&b, NULL);
}

int main(int argc, char **argv)
{
	static const char *const opts[] = {"op", "token", "s3-key", "status", "batch", "task",
					   "error", "cause-file", NULL};
	struct strlist x = {0};
	struct app a;
	struct aws_endpoint ep = {0};
	struct call c = {0};
	struct buf err, output;
	struct sfn *s = NULL;
	struct sfn_op *op = NULL;
	const char *opname, *token;
	char *url = NULL, *cause = NULL;
	int rc = 2;

	memset(&a, 0, sizeof(a));
	buf_init(&err, 4096);
	buf_init(&output, 0);
	buf_init(&c.out, 0);
	a.src = (struct config_source){.argc = argc, .argv = argv, .extra_options = opts,
				       .extra = &x};
	if (config_load(&a.cfg, &a.src, &err) != 0 || !(opname = config_extra(&x, "op")) ||
	    !(token = config_extra(&x, "token"))) {
		fprintf(stderr, "sfn_call: %s (needs --op and --token)\n", buf_str(&err));
		goto out;
	}
	log_setup(a.cfg.log_level, a.cfg.log_format);
	if (app_open(&a) != 0 || !(url = config_endpoint(&a.cfg, &a.src, AWS_SFN)) ||
	    aws_endpoint_parse(url, &ep) < 0)
		goto out;
	s = sfn_new(a.aws, &ep);
	if (strcmp(opname, "success") == 0) {
		sfn_success_output(&output, config_extra(&x, "s3-key") ? config_extra(&x, "s3-key") : "",
				   config_extra(&x, "status") ? config_extra(&x, "status") : "",
				   config_extra(&x, "batch") ? config_extra(&x, "batch") : "",
				   config_extra(&x, "task"));
		op = sfn_task_success(s, token, output.data, output.len, on_done, &c);
	} else if (strcmp(opname, "failure") == 0) {
		if (config_extra(&x, "cause-file") && !(cause = read_file(config_extra(&x, "cause-file"))))
			goto out;
		op = sfn_task_failure(s, token, config_extra(&x, "error"), cause, on_done, &c);
	} else if (strcmp(opname, "heartbeat") == 0) {
		op = sfn_task_heartbeat(s, token, on_done, &c);
	} else {
		fprintf(stderr, "sfn_call: unknown --op %s\n", opname);
		goto out;
	}
	if (!op)
		printf("{\"refused\":true}\n");
	else
		app_wait(&a, &c.done);
	fwrite(c.out.data ? c.out.data : "", 1, c.out.len, stdout);
	rc = 0;
out:
	sfn_free(s);
	aws_endpoint_free(&ep);
	free(url);
	free(cause);
	if (a.loop)
		app_close(&a);
	config_free(&a.cfg);
	strlist_free(&x);
	buf_free(&err);
	buf_free(&output);
	buf_free(&c.out);
	return rc;
}
