/* creds_imds.c - the instance profile provider: the role name from EC2
 * instance metadata, then that role's credentials (IMDSv2, through imds.c). */
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "creds_parse.h"

#define ROLE_PATH "/latest/meta-data/iam/security-credentials/"

struct imds_source {
	struct imds *imds;
	struct imds_req *req;
	creds_fetch_cb cb;
	void *arg;
};

/* An IAM role name: [\w+=,.@-]{1,64}. */
static bool role_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || (s[i] && strchr("_+=,.@-", s[i]))))
			return false;
	return true;
}

static void deliver(struct imds_source *s, struct aws_creds *got, const char *err)
{
	creds_fetch_cb cb = s->cb;

	s->cb = NULL;
	cb(got, err, s->arg);
}

static void on_creds(const struct imds_answer *a, void *arg)
{
	struct imds_source *s = arg;
	struct aws_creds got = {0};
	struct buf why, line;

	s->req = NULL;
	buf_init(&why, 0);
	buf_init(&line, 0);
	if (a->error)
		buf_adds(&line, a->error);
	else if (creds_parse_json(a->body, a->len, &got, &why) < 0)
		buf_addf(&line, "GET %s(role): %s", ROLE_PATH, buf_str(&why));
	deliver(s, line.len ? NULL : &got, line.len ? buf_str(&line) : NULL);
	aws_creds_clear(&got);
	buf_free(&why);
	buf_free(&line);
}

static void on_role(const struct imds_answer *a, void *arg)
{
	struct imds_source *s = arg;
	size_t n;
	char *path;

	s->req = NULL;
	if (a->error && a->status == 404) {
		deliver(s, NULL,
			"no IAM role is attached to this instance (HTTP 404 on " ROLE_PATH ")");
		return;
	}
	if (a->error) {
		deliver(s, NULL, a->error);
		return;
	}
	/* One role per instance profile: the first line. */
	n = strcspn(a->body, "\r\n");
	while (n > 0 && (a->body[n - 1] == ' ' || a->body[n - 1] == '\t'))
		n--;
	if (!role_ok(a->body, n)) {
		deliver(s, NULL, "GET " ROLE_PATH ": the answer is not an IAM role name");
		return;
	}
	path = xasprintf("%s%.*s", ROLE_PATH, (int)n, a->body);
	s->req = imds_get(s->imds, path, CREDS_MAX_DOC, on_creds, s);
	free(path);
}

static int imds_fetch(void *state, creds_fetch_cb cb, void *arg, struct buf *err)
{
	struct imds_source *s = state;

	(void)err;
	s->cb = cb;
	s->arg = arg;
	s->req = imds_get(s->imds, ROLE_PATH, 4096, on_role, s);
	return 0;
}

static void imds_source_cancel(void *state)
{
	struct imds_source *s = state;

	imds_cancel(s->req);
	s->req = NULL;
	s->cb = NULL;
}

static void imds_source_free(void *state)
{
	if (!state)
		return;
	imds_source_cancel(state);
	free(state);
}

static int imds_configure(const struct creds_env *env, const struct creds_io *io, void **state,
			  struct buf *why)
{
	struct imds_source *s;

	(void)env;
	if (io->imds_problem) {
		buf_adds(why, io->imds_problem);
		return CREDS_REFUSED;
	}
	if (!io->imds) {
		buf_adds(why, "disabled by AWS_EC2_METADATA_DISABLED");
		return CREDS_NONE;
	}
	s = xcalloc(1, sizeof(*s));
	s->imds = io->imds;
	*state = s;
	return CREDS_OK;
}

const struct creds_source creds_imds_source = {
	.name = "instance-metadata",
	.configure = imds_configure,
	.fetch = imds_fetch,
	.cancel = imds_source_cancel,
	.free = imds_source_free,
	.failure_is_absence = true,
};
