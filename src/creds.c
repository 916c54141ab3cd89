/* creds.c - the AWS credentials provider chain: environment variables, then
 * the shared credentials and config files (profiles, INI format). */
#include "creds.h"

#include "creds_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The chain is a table of providers, each a name and a load function that
 * answers CREDS_OK (credentials filled in), CREDS_NONE (nothing configured
 * here: try the next one, "why" says what was looked at) or CREDS_REFUSED
 * (something is configured but wrong: stop, so that a broken setup never
 * silently falls through to another identity).
 *
 * This file holds the synchronous providers (environment, shared files) and
 * creds_chain_load(). The providers that need HTTP (web identity via STS,
 * the ECS container endpoint, EC2 IMDSv2) come after them, asynchronously on
 * the event loop: creds_async.c runs the whole chain and keeps temporary
 * credentials fresh (creds_chain_start()).
 *
 * File secrecy (like OpenSSH and OpenSMTPD's check_file_secrecy): the shared
 * credentials file exists to hold secrets, so it is refused whenever it is
 * group/other accessible or owned by someone other than us or root, whatever
 * profile it holds. The shared config file is usually world-readable and holds
 * only settings such as region, so it is refused only when the selected
 * profile's section in it holds a secret (aws_secret_access_key or
 * aws_session_token). Region lookups read the config file without the check.
 */

/* What one file says about the selected profile. */
struct profile_scan {
	const char *path; /* NULL: no path (HOME not set) */
	int read_errno;   /* 0: read; else why not (ENOENT: no file) */
	struct stat st;
	bool section_found;
	char *access_key_id, *secret_access_key, *session_token; /* secrets */
	const char *unsupported; /* a key naming a source we cannot use yet */
};

/* Per-load state shared by the providers. */
struct creds_ctx {
	const struct creds_env *env;
	const char *profile;
	bool profile_explicit;
	char *cred_path, *conf_path;
	bool scanned;
	struct profile_scan cred, conf;
};

struct creds_provider {
	const char *name;
	int (*load)(struct creds_ctx *cx, struct aws_creds *out, struct buf *why);
};

const char *creds_getenv(const struct creds_env *env, const char *name)
{
	const char *v = env && env->getenv ? env->getenv(env->ctx, name) : getenv(name);

	return v && *v ? v : NULL;
}

void aws_creds_clear(struct aws_creds *c)
{
	if (!c)
		return;
	secret_free(c->access_key_id);
	secret_free(c->secret_access_key);
	secret_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

const char *aws_profile_name(const struct creds_env *env)
{
	const char *p = creds_getenv(env, "AWS_PROFILE");

	return p ? p : "default";
}

/* A credential must be printable ASCII without spaces. */
static bool valid_secret_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* ---- files -------------------------------------------------------------- */

/* $VAR, else ~/rel; "~/" in $VAR expands to HOME. NULL when HOME is needed but unset. */
static char *aws_file_path(const struct creds_env *env, const char *var, const char *rel)
{
	const char *v = creds_getenv(env, var), *home = creds_getenv(env, "HOME");

	if (v && strncmp(v, "~/", 2) != 0)
		return xstrdup(v);
	if (!home)
		return NULL;
	return v ? xasprintf("%s/%s", home, v + 2) : xasprintf("%s/%s", home, rel);
}

/* Read a file that may hold secrets into one buffer sized once (so no copy is
 * left behind by a realloc); the caller wipes and frees it. 0, or -1 with errno. */
static int read_secret_file(const char *path, size_t max, char **data, size_t *len,
			    struct stat *st)
{
	size_t got = 0;
	ssize_t n;
	char *p = NULL;
	int fd, saved;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	if (st->st_size > (off_t)max) {
		errno = EFBIG;
		goto fail;
	}
	p = xmalloc((size_t)st->st_size + 1);
	while (got < (size_t)st->st_size) {
		n = read(fd, p + got, (size_t)st->st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	p[got] = '\0';
	close(fd);
	*data = p;
	*len = got;
	return 0;
fail:
	saved = errno;
	close(fd);
	if (p) {
		secure_wipe(p, (size_t)st->st_size + 1);
		free(p);
	}
	errno = saved;
	return -1;
}

int creds_read_secret_file(const char *path, size_t max, char **data, size_t *len)
{
	struct stat st;

	return read_secret_file(path, max, data, len, &st);
}

/* OpenSMTPD-style secrecy check. Returns NULL, or what is wrong. */
static const char *file_secrecy(const struct stat *st, struct buf *why, const char *path)
{
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		buf_addf(why, "%s is owned by uid %u, not by this user (uid %u) or root", path,
			 (unsigned)st->st_uid, (unsigned)geteuid());
		return buf_str(why);
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		buf_addf(why,
			 "%s is accessible by group or others (mode %04o); refusing to use the "
			 "secrets in it (chmod 600 it)",
			 path, (unsigned)(st->st_mode & 07777));
		return buf_str(why);
	}
	return NULL;
}

/* ---- INI ---------------------------------------------------------------- */

typedef void (*ini_cb)(void *ctx, const char *key, size_t klen, const char *val, size_t vlen);

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Does a section header's inner text select profile? In the credentials file
 * sections are [NAME]; in the config file [profile NAME], or [default]. */
static bool section_matches(const char *s, size_t n, bool config_file, const char *profile)
{
	size_t pn = strlen(profile);

	if (!config_file || strcmp(profile, "default") == 0)
		if (n == pn && memcmp(s, profile, n) == 0)
			return true;
	if (!config_file || n < 8 || memcmp(s, "profile", 7) != 0 || !blank(s[7]))
		return false;
	for (s += 7, n -= 7; n > 0 && blank(*s); s++, n--)
		;
	return n == pn && memcmp(s, profile, n) == 0;
}

/* Call cb for every key of the profile's section(s); returns whether the
 * section exists. Comments are lines starting with # or ;, and " #"/" ;" after a
 * value. Indented lines under a key with an empty value are a nested block
 * ("s3 =\n  addressing_style = path") and are skipped. */
static bool ini_scan(const char *text, size_t len, bool config_file, const char *profile,
		     ini_cb cb, void *ctx)
{
	const char *p = text, *end = text + len;
	bool in_section = false, found = false, nested = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p, *eq, *ke, *v, *ve;
		bool indented = p < le && blank(*p);
		p = nl ? nl + 1 : end;
		while (s < le && blank(*s))
			s++;
		while (le > s && blank(le[-1]))
			le--;
		if (s == le || *s == '#' || *s == ';')
			continue;
		if (indented && nested)
			continue;
		nested = false;
		if (*s == '[') {
			const char *close = memchr(s, ']', (size_t)(le - s));
			if (!close)
				continue;
			for (s++; s < close && blank(*s); s++)
				;
			for (ve = close; ve > s && blank(ve[-1]); ve--)
				;
			in_section = section_matches(s, (size_t)(ve - s), config_file, profile);
			found = found || in_section;
			continue;
		}
		eq = memchr(s, '=', (size_t)(le - s));
		if (!eq)
			continue;
		for (ke = eq; ke > s && blank(ke[-1]); ke--)
			;
		for (v = eq + 1; v < le && blank(*v); v++)
			;
		for (ve = v; ve < le; ve++)
			if ((*ve == '#' || *ve == ';') && ve > v && blank(ve[-1]))
				break;
		while (ve > v && blank(ve[-1]))
			ve--;
		if (v == ve)
			nested = true;
		if (in_section && ke > s)
			cb(ctx, s, (size_t)(ke - s), v, (size_t)(ve - v));
	}
	return found;
}

static bool key_is(const char *k, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(k, name, n) == 0;
}

static void set_secret(char **dst, const char *v, size_t n)
{
	secret_free(*dst);
	*dst = n ? xstrndup(v, n) : NULL;
}

static void profile_cb(void *ctx, const char *k, size_t n, const char *v, size_t vn)
{
	static const char *const unsupported[] = {"role_arn", "credential_process", "sso_session",
						  "sso_start_url", "web_identity_token_file"};
	struct profile_scan *ps = ctx;
	size_t i;

	if (key_is(k, n, "aws_access_key_id"))
		set_secret(&ps->access_key_id, v, vn);
	else if (key_is(k, n, "aws_secret_access_key"))
		set_secret(&ps->secret_access_key, v, vn);
	else if (key_is(k, n, "aws_session_token"))
		set_secret(&ps->session_token, v, vn);
	for (i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (!ps->unsupported && vn && key_is(k, n, unsupported[i]))
			ps->unsupported = unsupported[i];
}

static void scan_file(struct profile_scan *ps, const char *path, bool config_file,
		      const char *profile)
{
	char *data;
	size_t len;

	ps->path = path;
	if (!path) {
		ps->read_errno = ENOENT;
		return;
	}
	if (read_secret_file(path, CREDS_MAX_FILE, &data, &len, &ps->st) != 0) {
		ps->read_errno = errno;
		return;
	}
	ps->section_found = ini_scan(data, len, config_file, profile, profile_cb, ps);
	secure_wipe(data, len);
	free(data);
}

static void scan_clear(struct profile_scan *ps)
{
	secret_free(ps->access_key_id);
	secret_free(ps->secret_access_key);
	secret_free(ps->session_token);
	memset(ps, 0, sizeof(*ps));
}

struct value_lookup {
	const char *key;
	char *value;
};

static void value_cb(void *ctx, const char *k, size_t n, const char *v, size_t vn)
{
	struct value_lookup *vl = ctx;

	if (key_is(k, n, vl->key)) {
		free(vl->value);
		vl->value = vn ? xstrndup(v, vn) : NULL;
	}
}

char *aws_profile_config_value(const struct creds_env *env, const char *key)
{
	struct value_lookup vl = {key, NULL};
	char *path = aws_file_path(env, "AWS_CONFIG_FILE", ".aws/config"), *data = NULL;
	struct stat st;
	size_t len;

	if (path && read_secret_file(path, CREDS_MAX_FILE, &data, &len, &st) == 0) {
		ini_scan(data, len, true, aws_profile_name(env), value_cb, &vl);
		secure_wipe(data, len);
		free(data);
	}
	free(path);
	return vl.value;
}

/* ---- providers ---------------------------------------------------------- */

static int env_load(struct creds_ctx *cx, struct aws_creds *out, struct buf *why)
{
	const char *id = creds_getenv(cx->env, "AWS_ACCESS_KEY_ID");
	const char *secret = creds_getenv(cx->env, "AWS_SECRET_ACCESS_KEY");
	const char *token = creds_getenv(cx->env, "AWS_SESSION_TOKEN");
	const char *exp = creds_getenv(cx->env, "AWS_CREDENTIAL_EXPIRATION");
	int64_t exp_ms = 0;

	if (!id && !secret) {
		buf_adds(why, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set");
		return CREDS_NONE;
	}
	if (!id || !secret) {
		buf_addf(why, "%s is set but %s is not",
			 id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			 id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return CREDS_REFUSED;
	}
	if (!valid_secret_text(id) || !valid_secret_text(secret) ||
	    (token && !valid_secret_text(token))) {
		buf_addf(why, "%s contains spaces or control characters",
			 !valid_secret_text(id)	      ? "AWS_ACCESS_KEY_ID"
			 : !valid_secret_text(secret) ? "AWS_SECRET_ACCESS_KEY"
						      : "AWS_SESSION_TOKEN");
		return CREDS_REFUSED;
	}
	if (exp && time_parse_rfc3339(exp, strlen(exp), &exp_ms) != 0) {
		buf_adds(why, "AWS_CREDENTIAL_EXPIRATION is not an RFC 3339 time");
		return CREDS_REFUSED;
	}
	out->access_key_id = xstrdup(id);
	out->secret_access_key = xstrdup(secret);
	out->session_token = token ? xstrdup(token) : NULL;
	out->expiration_ms = exp_ms;
	return CREDS_OK;
}

static void scan_profile_files(struct creds_ctx *cx)
{
	if (cx->scanned)
		return;
	cx->scanned = true;
	cx->cred_path = aws_file_path(cx->env, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	cx->conf_path = aws_file_path(cx->env, "AWS_CONFIG_FILE", ".aws/config");
	scan_file(&cx->cred, cx->cred_path, false, cx->profile);
	scan_file(&cx->conf, cx->conf_path, true, cx->profile);
}

/* The keys of one file's profile section: OK, NONE or REFUSED (partial). */
static int take_keys(struct creds_ctx *cx, struct profile_scan *ps, struct aws_creds *out,
		     struct buf *why)
{
	if (!ps->access_key_id && !ps->secret_access_key) {
		buf_addf(why, "profile '%s' in %s has no aws_access_key_id", cx->profile, ps->path);
		return CREDS_NONE;
	}
	if (!ps->access_key_id || !ps->secret_access_key) {
		buf_addf(why, "profile '%s' in %s has %s but no %s", cx->profile, ps->path,
			 ps->access_key_id ? "aws_access_key_id" : "aws_secret_access_key",
			 ps->access_key_id ? "aws_secret_access_key" : "aws_access_key_id");
		return CREDS_REFUSED;
	}
	if (!valid_secret_text(ps->access_key_id) || !valid_secret_text(ps->secret_access_key) ||
	    (ps->session_token && !valid_secret_text(ps->session_token))) {
		buf_addf(why, "profile '%s' in %s has a key with spaces or control characters",
			 cx->profile, ps->path);
		return CREDS_REFUSED;
	}
	out->access_key_id = ps->access_key_id;
	out->secret_access_key = ps->secret_access_key;
	out->session_token = ps->session_token;
	ps->access_key_id = ps->secret_access_key = ps->session_token = NULL;
	return CREDS_OK;
}

/* Not there: NONE with a reason; unreadable: REFUSED. */
static int file_state(struct profile_scan *ps, const char *var, struct buf *why)
{
	if (!ps->path) {
		buf_addf(why, "HOME and %s not set", var);
		return CREDS_NONE;
	}
	if (ps->read_errno == ENOENT || ps->read_errno == ENOTDIR) {
		buf_addf(why, "no file %s", ps->path);
		return CREDS_NONE;
	}
	if (ps->read_errno) {
		buf_addf(why, "cannot read %s: %s", ps->path,
			 ps->read_errno == EFBIG ? "larger than 1 MiB" : strerror(ps->read_errno));
		return CREDS_REFUSED;
	}
	return CREDS_OK;
}

static int unsupported_source(struct creds_ctx *cx, struct buf *why)
{
	const struct profile_scan *ps = cx->cred.unsupported ? &cx->cred : &cx->conf;

	if (!ps->unsupported)
		return CREDS_NONE;
	buf_addf(why, "profile '%s' in %s uses %s, which s3statusd does not support yet",
		 cx->profile, ps->path, ps->unsupported);
	return CREDS_REFUSED;
}

static int cred_file_load(struct creds_ctx *cx, struct aws_creds *out, struct buf *why)
{
	int r;

	scan_profile_files(cx);
	if ((r = file_state(&cx->cred, "AWS_SHARED_CREDENTIALS_FILE", why)) != CREDS_OK)
		return r;
	if (file_secrecy(&cx->cred.st, why, cx->cred.path))
		return CREDS_REFUSED;
	if (unsupported_source(cx, why) != CREDS_NONE)
		return CREDS_REFUSED;
	if (!cx->cred.section_found) {
		buf_addf(why, "no profile '%s' in %s", cx->profile, cx->cred.path);
		return CREDS_NONE;
	}
	return take_keys(cx, &cx->cred, out, why);
}

static int conf_file_load(struct creds_ctx *cx, struct aws_creds *out, struct buf *why)
{
	struct profile_scan *ps = &cx->conf;
	int r;

	scan_profile_files(cx);
	r = file_state(ps, "AWS_CONFIG_FILE", why);
	if (r == CREDS_REFUSED)
		return r;
	if (r == CREDS_OK && unsupported_source(cx, why) != CREDS_NONE)
		return CREDS_REFUSED;
	if (r == CREDS_OK && (ps->secret_access_key || ps->session_token) &&
	    file_secrecy(&ps->st, why, ps->path))
		return CREDS_REFUSED;
	if (cx->profile_explicit && !ps->section_found && !cx->cred.section_found) {
		buf_reset(why);
		buf_addf(why, "profile '%s' (AWS_PROFILE) not found in %s or %s", cx->profile,
			 cx->cred.path ? cx->cred.path : "(no credentials file)",
			 ps->path ? ps->path : "(no config file)");
		return CREDS_REFUSED;
	}
	if (r != CREDS_OK)
		return r;
	if (!ps->section_found) {
		buf_addf(why, "no profile '%s' in %s", cx->profile, ps->path);
		return CREDS_NONE;
	}
	return take_keys(cx, ps, out, why);
}

/* In the SDK order of SPEC section 4; web identity, the container endpoint
 * and instance metadata come after these (creds_async.c). */
static const struct creds_provider providers[] = {
	{"environment", env_load},
	{"shared-credentials-file", cred_file_load},
	{"shared-config-file", conf_file_load},
};

/* ---- the chain ---------------------------------------------------------- */

struct creds_chain *creds_chain_new(const struct creds_env *env)
{
	struct creds_chain *c = xcalloc(1, sizeof(*c));

	if (env)
		c->env = *env;
	return c;
}

void creds_chain_free(struct creds_chain *c)
{
	if (!c)
		return;
	if (c->async)
		c->async_free(c->async);
	aws_creds_clear(&c->current);
	free(c);
}

int creds_sync_resolve(struct creds_chain *c, struct aws_creds *got, const char **name,
		       struct buf *why, struct buf *tried)
{
	struct creds_ctx cx = {0};
	size_t i;
	int r = CREDS_NONE;

	cx.env = &c->env;
	cx.profile = aws_profile_name(&c->env);
	cx.profile_explicit = creds_getenv(&c->env, "AWS_PROFILE") != NULL;
	for (i = 0; i < ARRAY_SIZE(providers); i++) {
		buf_reset(why);
		r = providers[i].load(&cx, got, why);
		if (r != CREDS_NONE) {
			*name = providers[i].name;
			break;
		}
		buf_addf(tried, "%s%s: %s", tried->len ? "; " : "", providers[i].name,
			 buf_str(why));
	}
	scan_clear(&cx.cred);
	scan_clear(&cx.conf);
	free(cx.cred_path);
	free(cx.conf_path);
	return r;
}

void creds_chain_set(struct creds_chain *c, struct aws_creds *got, const char *source)
{
	aws_creds_clear(&c->current);
	c->current = *got;
	c->current.source = source;
	memset(got, 0, sizeof(*got));
	c->have = true;
}

int creds_chain_load(struct creds_chain *c, struct buf *err)
{
	struct aws_creds got = {0};
	struct buf why, tried;
	const char *name = NULL;
	int r, rc = -1;

	buf_init(&why, 0);
	buf_init(&tried, 0);
	r = creds_sync_resolve(c, &got, &name, &why, &tried);
	buf_reset(err);
	if (r == CREDS_REFUSED) {
		buf_addf(err, "creds: %s: %s", name, buf_str(&why));
		goto fail;
	}
	if (r == CREDS_NONE) {
		buf_addf(err, "creds: no credentials found (%s)", buf_str(&tried));
		goto fail;
	}
	creds_chain_set(c, &got, name);
	rc = 0;
fail:
	aws_creds_clear(&got);
	buf_free(&why);
	buf_free(&tried);
	return rc;
}

const struct aws_creds *creds_chain_current(const struct creds_chain *c)
{
	return c && c->have ? &c->current : NULL;
}
