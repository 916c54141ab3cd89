/* config.c - configuration from one key table: defaults, the config file,
 * S3STATUSD_* environment and --flags (in that rising order), validated as
 * they are applied, plus region and endpoint resolution. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"

/* Values in error messages are cut to this many bytes. */
#define ERR_VALUE_MAX 80
#define PREFIX_MAX 512
#define STATUS_MAX 64
#define ACCOUNT_MAX 256

/* ---- the key table ------------------------------------------------------ */

enum ktype { K_STR, K_BOOL, K_INT, K_ENUM, K_LIST };

#define F_NONEMPTY 1u /* an empty value is an error (not "unset") */
#define F_LOWER 2u    /* list entries are lower-cased */
#define F_REQUIRED 4u /* required when require_queue_and_bucket */

struct enum_name {
	const char *name;
	int value;
};

/* A validator returns NULL when v is fine, else what is wrong with it. */
typedef const char *(*check_fn)(const char *v);

struct key {
	const char *name;
	enum ktype type;
	size_t off;
	const char *def; /* the default, as text; NULL: unset */
	int64_t min, max;
	const struct enum_name *names; /* K_ENUM, ends with a NULL name */
	check_fn check;                /* K_STR: the value; K_LIST: each entry */
	unsigned flags;
	const char *arg; /* usage placeholder */
	const char *help;
};

/* Enum fields are stored through an int: make sure they are one. */
_Static_assert(sizeof(enum record_format) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enum size");

static const struct enum_name record_formats[] = {
	{"record", RECORD_FORMAT_RECORD}, {"payload", RECORD_FORMAT_PAYLOAD}, {NULL, 0}};
/* Same names as log_level_parse(); the first of each value is canonical. */
static const struct enum_name log_levels[] = {
	{"error", LOG_LVL_ERR},	  {"warning", LOG_LVL_WARN}, {"warn", LOG_LVL_WARN},
	{"notice", LOG_LVL_NOTICE}, {"info", LOG_LVL_INFO},    {"debug", LOG_LVL_DEBUG},
	{NULL, 0}};
static const struct enum_name log_formats[] = {
	{"text", LOG_FMT_TEXT}, {"json", LOG_FMT_JSON}, {NULL, 0}};

static const char *check_queue(const char *v);
static const char *check_bucket(const char *v);
static const char *check_prefix(const char *v);
static const char *check_region(const char *v);
static const char *check_url(const char *v);
static const char *check_sse(const char *v);
static const char *check_readable(const char *v);
static const char *check_status(const char *v);
static const char *check_account(const char *v);

#define OFF(f) offsetof(struct config, f)
#define STR(n, def, chk, fl, arg, help) {#n, K_STR, OFF(n), def, 0, 0, NULL, chk, fl, arg, help}
#define BOOL(n, def, help) {#n, K_BOOL, OFF(n), def, 0, 0, NULL, NULL, 0, "BOOL", help}
#define INT(n, def, lo, hi, help) {#n, K_INT, OFF(n), def, lo, hi, NULL, NULL, 0, "N", help}
#define ENUM(n, def, names, arg, help) {#n, K_ENUM, OFF(n), def, 0, 0, names, NULL, 0, arg, help}
#define LIST(n, def, chk, fl, help) {#n, K_LIST, OFF(n), def, 0, 0, NULL, chk, fl, "A,B,...", help}

static const struct key keys[] = {
	STR(queue_url, NULL, check_queue, F_REQUIRED, "URL", "source queue URL (or a queue name)"),
	STR(bucket, NULL, check_bucket, F_REQUIRED, "NAME", "destination S3 bucket"),
	STR(prefix, "FTD_CONTRACT_LOADER", check_prefix, F_NONEMPTY, "PREFIX",
	    "root of the S3 layout"),
	STR(region, NULL, check_region, 0, "REGION",
	    "AWS region (else AWS_REGION, AWS_DEFAULT_REGION, the profile)"),
	STR(endpoint_url, NULL, check_url, 0, "URL", "endpoint for every service"),
	STR(sqs_endpoint_url, NULL, check_url, 0, "URL", "SQS endpoint"),
	STR(s3_endpoint_url, NULL, check_url, 0, "URL", "S3 endpoint"),
	STR(sfn_endpoint_url, NULL, check_url, 0, "URL", "Step Functions endpoint"),
	BOOL(s3_path_style, "false", "path-style S3 URLs"),
	STR(dlq_url, NULL, check_queue, 0, "URL", "dead-letter queue URL or name (else S3 DEAD_LETTER/)"),
	INT(max_receives, "5", 1, 1000, "receives before dead-lettering"),
	INT(visibility_timeout, "60", 0, 43200, "seconds, given on ReceiveMessage"),
	INT(wait_time, "20", 0, 20, "long-poll seconds"),
	INT(max_inflight, "64", 1, 10000, "messages being processed at once"),
	INT(pollers, "2", 1, 64, "concurrent ReceiveMessage long polls"),
	BOOL(summary, "true", "keep BATCHS/<batch>/summary.json up to date"),
	INT(summary_flush_ms, "1000", 0, 600000, "at most one summary write per batch per N ms"),
	LIST(accounts, "", check_account, 0, "allowed accounts (empty: any)"),
	LIST(statuses, "pending,running,failed,success,completed", check_status,
	     F_NONEMPTY | F_LOWER, "allowed statuses"),
	ENUM(record_format, "record", record_formats, "record|payload", "object body format"),
	STR(sse, NULL, check_sse, 0, "AES256|aws:kms", "server-side encryption"),
	STR(sse_kms_key_id, NULL, NULL, 0, "KEY", "KMS key for sse = aws:kms"),
	STR(ca_file, NULL, check_readable, 0, "FILE", "CA bundle (default: the system's)"),
	INT(shutdown_timeout, "30", 0, 3600, "seconds for a graceful stop"),
	ENUM(log_level, "info", log_levels, "LEVEL", "error, warning, notice, info or debug"),
	ENUM(log_format, "text", log_formats, "text|json", "log line format"),
	STR(metrics_file, NULL, NULL, 0, "FILE", "Prometheus text file, rewritten every 10 s"),
};
#define NKEYS ARRAY_SIZE(keys)

static const struct {
	const char *name;
	size_t off;
	const char *help;
} switches[] = {
	{"drain", offsetof(struct config, drain), "process until the queue is empty, then exit"},
	{"check", offsetof(struct config, check), "check configuration, credentials and access"},
	{"version", offsetof(struct config, version), "print the version"},
	{"help", offsetof(struct config, help), "print this help"},
};

static const char *sys_getenv(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

/* An environment lookup where an empty variable counts as unset. */
static const char *env_get(const struct config_source *src, const char *name)
{
	const char *v;

	if (!src)
		return NULL;
	v = src->getenv ? src->getenv(src->env_ctx, name) : sys_getenv(NULL, name);
	return v && *v ? v : NULL;
}

static const struct key *key_find(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == n && memcmp(keys[i].name, name, n) == 0)
			return &keys[i];
	return NULL;
}

/* ---- errors ------------------------------------------------------------- */

/* Where a value came from: a file and line, an environment variable or a flag.
 * label NULL is the built-in default. */
struct origin {
	const char *label;
	unsigned line; /* > 0 for a file */
};

/* s cut to ERR_VALUE_MAX bytes (on a UTF-8 boundary), control bytes as \xNN,
 * so the message stays one short line. */
static void add_quoted(struct buf *b, const char *s, size_t n)
{
	size_t i, cut = n;

	if (cut > ERR_VALUE_MAX) {
		cut = ERR_VALUE_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	for (i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			buf_addf(b, "\\x%02X", c);
		else
			buf_addc(b, (char)c);
	}
	if (cut < n)
		buf_adds(b, "...");
}

/* A value as add_quoted writes it, but the user:password of a URL
 * ("https://user:pass@host/") shown as "***": a refused URL is echoed in the
 * error, its secret must not be. */
static void add_redacted(struct buf *b, const char *v)
{
	const char *auth = strstr(v, "://"), *at = NULL;

	if (auth) {
		auth += 3;
		at = memrchr(auth, '@', strcspn(auth, "/?#"));
	}
	if (!at) {
		add_quoted(b, v, strlen(v));
		return;
	}
	add_quoted(b, v, (size_t)(auth - v));
	buf_adds(b, "***");
	add_quoted(b, at, strlen(at));
}

/* err = "config: NAME: WHAT[ in ORIGIN][ (got 'VALUE')]". Returns 2. */
static int fail(struct buf *err, const char *name, size_t name_len, const struct origin *o,
		const char *value, const char *fmt, ...) S3S_PRINTF(6, 7);
static int fail(struct buf *err, const char *name, size_t name_len, const struct origin *o,
		const char *value, const char *fmt, ...)
{
	va_list ap;

	buf_reset(err);
	buf_adds(err, "config: ");
	add_quoted(err, name, name_len);
	buf_adds(err, ": ");
	va_start(ap, fmt);
	buf_vaddf(err, fmt, ap);
	va_end(ap);
	if (o && o->label) {
		buf_adds(err, " in ");
		add_quoted(err, o->label, strlen(o->label));
		if (o->line)
			buf_addf(err, ":%u", o->line);
	}
	if (value) {
		buf_adds(err, " (got '");
		add_redacted(err, value);
		buf_adds(err, "')");
	}
	return 2;
}

#define FAIL_KEY(k, o, v, ...) fail(err, (k)->name, strlen((k)->name), o, v, __VA_ARGS__)

/* ---- validators --------------------------------------------------------- */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, need, min, cp, i;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1, min = 0x80, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2, min = 0x800, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return false;
		for (i = 1; i <= need; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += need + 1;
	}
	return true;
}

static const char *check_url(const char *v)
{
	const char *host, *end, *at;

	if (strncasecmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		host = v + 8;
	else
		return "must be an http:// or https:// URL";
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		return "must not contain user:password@ (secrets do not belong in URLs)";
	if (end == host || *host == ':')
		return "must name a host";
	for (; *v; v++)
		if (*v == ' ' || *v == '\t')
			return "must not contain spaces";
	return NULL;
}

/* A URL, or a queue name as CreateQueue accepts it (GetQueueUrl resolves it). */
static const char *check_queue(const char *v)
{
	size_t n = strlen(v), i;

	if (strstr(v, "://"))
		return check_url(v);
	if (n > 5 && strcmp(v + n - 5, ".fifo") == 0)
		n -= 5;
	if (n == 0 || n > 80)
		return "must be an http(s) URL or a queue name of 1 to 80 characters";
	for (i = 0; i < n; i++)
		if (!is_alnum(v[i]) && v[i] != '-' && v[i] != '_')
			return "must be an http(s) URL or a queue name (letters, digits, '-', '_')";
	return NULL;
}

/* The current S3 bucket naming rules (legacy names with capitals or '_' are
 * refused: they cannot be used with virtual-hosted URLs anyway). */
static const char *check_bucket(const char *v)
{
	size_t n = strlen(v), i, dots = 0;
	bool all_digits_dots = true;

	if (n < 3 || n > 63)
		return "must be a bucket name of 3 to 63 characters";
	for (i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return "must be a bucket name of lower-case letters, digits, '.' and '-'";
		if (c == '.')
			dots++;
		else if (c < '0' || c > '9')
			all_digits_dots = false;
	}
	if (!is_alnum(v[0]) || !is_alnum(v[n - 1]))
		return "must be a bucket name that begins and ends with a letter or digit";
	if (strstr(v, "..") || strstr(v, ".-") || strstr(v, "-."))
		return "must be a bucket name without '..', '.-' or '-.'";
	if (all_digits_dots && dots == 3)
		return "must be a bucket name, not an IP address";
	if (strncmp(v, "xn--", 4) == 0 || strncmp(v, "sthree-", 7) == 0 ||
	    (n >= 8 && strcmp(v + n - 8, "-s3alias") == 0) ||
	    (n >= 7 && strcmp(v + n - 7, "--ol-s3") == 0))
		return "must be a bucket name (reserved prefix or suffix)";
	return NULL;
}

static const char *check_prefix(const char *v)
{
	const char *seg = v, *slash;
	size_t len;

	if (strlen(v) > PREFIX_MAX)
		return "must be at most 512 bytes";
	if (!valid_utf8(v))
		return "must be valid UTF-8";
	if (v[0] == '/' || v[strlen(v) - 1] == '/')
		return "must not begin or end with '/'";
	for (;;) {
		slash = strchr(seg, '/');
		len = slash ? (size_t)(slash - seg) : strlen(seg);
		if (len == 0 || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return "must not have empty, '.' or '..' segments";
		if (!slash)
			return NULL;
		seg = slash + 1;
	}
}

static const char *check_region(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > 64 || v[0] < 'a' || v[0] > 'z' || v[n - 1] == '-')
		return "must be a region name such as eu-west-1";
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
			return "must be a region name such as eu-west-1";
	return NULL;
}

static const char *check_sse(const char *v)
{
	if (strcmp(v, "AES256") == 0 || strcmp(v, "aws:kms") == 0)
		return NULL;
	return "must be AES256 or aws:kms";
}

static const char *check_readable(const char *v)
{
	struct stat st;

	if (access(v, R_OK) != 0)
		return errno == ENOENT ? "no such file" : "cannot be read";
	if (stat(v, &st) != 0 || !S_ISREG(st.st_mode))
		return "must be a regular file";
	return NULL;
}

static const char *check_status(const char *v)
{
	size_t i, n = strlen(v);

	if (n > STATUS_MAX)
		return "must list statuses of at most 64 characters";
	if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return "must not list '.' or '..'";
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-' ||
		      v[i] == '_' || v[i] == '.'))
			return "must list statuses of letters, digits, '.', '_' and '-'";
	return NULL;
}

static const char *check_account(const char *v)
{
	if (strlen(v) > ACCOUNT_MAX)
		return "must list accounts of at most 256 bytes";
	if (!valid_utf8(v))
		return "must list accounts in valid UTF-8";
	return NULL;
}

/* ---- string lists ------------------------------------------------------- */

bool strlist_contains(const struct strlist *l, const char *s)
{
	size_t i;

	if (!l || !s)
		return false;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

void strlist_add(struct strlist *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

void strlist_free(struct strlist *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Split v on ',' into out (trimmed, duplicates dropped). Returns NULL or what
 * is wrong. */
static const char *split_list(const struct key *k, const char *v, struct strlist *out)
{
	const char *p = v, *why = NULL;
	struct buf item;
	size_t i;

	buf_init(&item, CONFIG_MAX_VALUE);
	if (*v == '\0')
		goto done;
	for (;;) {
		size_t n = strcspn(p, ",");
		const char *s = p, *e = p + n;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (s == e) {
			why = "has an empty entry";
			goto done;
		}
		buf_reset(&item);
		buf_add(&item, s, (size_t)(e - s));
		if (k->flags & F_LOWER)
			for (i = 0; i < item.len; i++)
				if (item.data[i] >= 'A' && item.data[i] <= 'Z')
					item.data[i] = (char)(item.data[i] - 'A' + 'a');
		if (k->check && (why = k->check(item.data)) != NULL)
			goto done;
		if (!strlist_contains(out, item.data))
			strlist_add(out, item.data);
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
done:
	buf_free(&item);
	return why;
}

/* ---- applying one value ------------------------------------------------- */

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static void enum_list(struct buf *b, const struct enum_name *names)
{
	size_t i;

	for (i = 0; names[i].name; i++)
		buf_addf(b, "%s%s", i ? (names[i + 1].name ? ", " : " or ") : "", names[i].name);
}

/* Parse v for key k into cfg, replacing what was there. Returns 0 or 2. */
static int set_value(struct config *cfg, const struct key *k, const char *v,
		     const struct origin *o, struct buf *err)
{
	void *field = (char *)cfg + k->off;
	const char *why = NULL, *p;
	struct strlist list = {0};
	struct buf names;
	int64_t i64;
	bool b;
	size_t i;
	int rc = 2;

	buf_init(&names, 0);
	if (strlen(v) > CONFIG_MAX_VALUE) {
		why = "is too long (at most 4096 bytes)";
		goto fail;
	}
	for (p = v; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			why = "must not contain control characters";
			goto fail;
		}
	}
	switch (k->type) {
	case K_STR:
		if (*v == '\0' && (k->flags & F_NONEMPTY)) {
			why = "must not be empty";
			goto fail;
		}
		if (*v && k->check && (why = k->check(v)) != NULL)
			goto fail;
		free(*(char **)field);
		*(char **)field = *v ? xstrdup(v) : NULL;
		break;
	case K_BOOL:
		if (parse_bool(v, &b) < 0) {
			why = "must be true/false, yes/no, on/off or 1/0";
			goto fail;
		}
		*(bool *)field = b;
		break;
	case K_INT:
		if (parse_i64(v, k->min, k->max, &i64) < 0) {
			rc = FAIL_KEY(k, o, v, "must be an integer from %lld to %lld",
				      (long long)k->min, (long long)k->max);
			goto fail;
		}
		*(int64_t *)field = i64;
		break;
	case K_ENUM:
		for (i = 0; k->names[i].name; i++)
			if (strcasecmp(v, k->names[i].name) == 0)
				break;
		if (!k->names[i].name) {
			enum_list(&names, k->names);
			rc = FAIL_KEY(k, o, v, "must be %s", buf_str(&names));
			goto fail;
		}
		memcpy(field, &k->names[i].value, sizeof(int));
		break;
	case K_LIST:
		if ((why = split_list(k, v, &list)) != NULL)
			goto fail;
		if (list.n == 0 && (k->flags & F_NONEMPTY)) {
			why = "must not be empty";
			goto fail;
		}
		strlist_free((struct strlist *)field);
		*(struct strlist *)field = list;
		list.v = NULL;
		list.n = 0;
		break;
	}
	rc = 0;
fail:
	if (why)
		rc = FAIL_KEY(k, o, v, "%s", why);
	strlist_free(&list);
	buf_free(&names);
	return rc;
}

/* ---- the config file ---------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* An unknown key is named in the error only when it reads like a key name
 * (1..40 bytes of a-z 0-9 _ - .), not like a line of some other file. */
static bool looks_like_key(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 40)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/* One "key = value" line (already trimmed, no comment line). */
static int parse_line(struct config *cfg, const char *s, size_t n, const struct origin *o,
		      unsigned *first_line, struct buf *err)
{
	const char *eq = memchr(s, '=', n), *ke, *v, *ve, *end = s + n, *close;
	const struct key *k;
	struct buf val;
	int rc = 2;

	/* Syntax errors name the file and line but never show the line: with
	 * --config pointing at the wrong file (/etc/shadow, a key file) its
	 * content must not reach a log. */
	buf_init(&val, 0);
	if (!eq) {
		rc = fail(err, "syntax", 6, o, NULL, "expected 'key = value'");
		goto fail;
	}
	for (ke = eq; ke > s && is_blank(ke[-1]); ke--)
		;
	if (ke == s) {
		rc = fail(err, "syntax", 6, o, NULL, "expected 'key = value'");
		goto fail;
	}
	k = key_find(s, (size_t)(ke - s));
	if (!k && looks_like_key(s, (size_t)(ke - s))) {
		rc = fail(err, s, (size_t)(ke - s), o, NULL, "unknown key");
		goto fail;
	}
	if (!k) {
		rc = fail(err, "syntax", 6, o, NULL,
			  "unknown key (not shown: not a lower-case key name)");
		goto fail;
	}
	if (first_line[k - keys]) {
		rc = FAIL_KEY(k, o, NULL, "duplicate key (first set on line %u)",
			      first_line[k - keys]);
		goto fail;
	}
	first_line[k - keys] = o->line;
	for (v = eq + 1; v < end && is_blank(*v); v++)
		;
	if (v < end && (*v == '"' || *v == '\'')) {
		close = memchr(v + 1, *v, (size_t)(end - v - 1));
		if (!close) {
			rc = FAIL_KEY(k, o, NULL, "unterminated quote");
			goto fail;
		}
		for (ve = close + 1; ve < end && is_blank(*ve); ve++)
			;
		if (ve < end && *ve != '#') {
			rc = FAIL_KEY(k, o, NULL, "text after the closing quote");
			goto fail;
		}
		buf_add(&val, v + 1, (size_t)(close - v - 1));
	} else {
		/* A '#' after whitespace starts a comment; "a#b" is a value. */
		for (ve = v; ve < end; ve++)
			if (*ve == '#' && (ve == v || is_blank(ve[-1])))
				break;
		while (ve > v && is_blank(ve[-1]))
			ve--;
		buf_add(&val, v, (size_t)(ve - v));
	}
	rc = set_value(cfg, k, buf_str(&val), o, err);
fail:
	buf_free(&val);
	return rc;
}

static int parse_text(struct config *cfg, const char *name, const char *text, size_t len,
		      struct buf *err)
{
	unsigned first_line[NKEYS] = {0};
	struct origin o = {name, 0};
	const char *p = text, *end = text + len;
	int rc = 0;

	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p;
		o.line++;
		p = nl ? nl + 1 : end;
		if (memchr(s, '\0', (size_t)(le - s)))
			return fail(err, "syntax", 6, &o, NULL, "NUL byte in the file");
		while (s < le && (is_blank(*s) || *s == '\r'))
			s++;
		while (le > s && (is_blank(le[-1]) || le[-1] == '\r'))
			le--;
		if (s == le || *s == '#')
			continue;
		rc = parse_line(cfg, s, (size_t)(le - s), &o, first_line, err);
	}
	return rc;
}

/* Read path into out. Returns 0, or -1 with errno set (EFBIG: too large). */
static int read_small_file(const char *path, struct buf *out)
{
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		if (buf_add(out, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* ---- flags -------------------------------------------------------------- */

struct flag_value {
	const char *value; /* NULL: not given */
	const char *label; /* the flag as typed, for messages */
};

static bool is_bool_word(const char *v)
{
	bool b;

	return v && parse_bool(v, &b) == 0;
}

/* Match "--name" against extra_options; sets *is_switch. */
static const char *extra_find(const struct config_source *src, const char *name, size_t n,
			      bool *is_switch)
{
	const char *const *e;

	for (e = src->extra_options; e && *e; e++) {
		size_t en = strlen(*e);
		bool sw = en > 0 && (*e)[en - 1] == '!';
		if (sw)
			en--;
		if (en == n && memcmp(*e, name, n) == 0) {
			*is_switch = sw;
			return *e;
		}
	}
	return NULL;
}

/* Walk argv: config keys into flags[], --config into *config_file, switches
 * into cfg, extra options and positional words into src's lists. */
static int parse_argv(struct config *cfg, const struct config_source *src,
		      struct flag_value *flags, const char **config_file, struct buf *err)
{
	struct buf name, item;
	int i, rc = 2;
	bool only_positional = false;

	buf_init(&name, 0);
	buf_init(&item, 0);
	for (i = 1; src && i < src->argc; i++) {
		const char *a = src->argv[i], *eq, *val = NULL;
		const struct key *k;
		bool sw = false;
		size_t j, n;

		if (only_positional || a[0] != '-' || strcmp(a, "-") == 0) {
			if (!src->positional) {
				rc = fail(err, "argument", 8, NULL, a, "unexpected");
				goto fail;
			}
			strlist_add(src->positional, a);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (strcmp(a, "-h") == 0) {
			cfg->help = true;
			continue;
		}
		if (a[1] != '-' || a[2] == '\0') {
			rc = fail(err, a, strlen(a), NULL, NULL, "unknown option");
			goto fail;
		}
		eq = strchr(a + 2, '=');
		n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		buf_reset(&name);
		buf_add(&name, a + 2, n);
		if (eq)
			val = eq + 1;
		/* Extra options first: they are the caller's exact names. */
		if (extra_find(src, name.data, n, &sw)) {
			if (sw && val) {
				rc = fail(err, name.data, n, NULL, a, "takes no value");
				goto fail;
			}
			if (!sw && !val && i + 1 >= src->argc) {
				rc = fail(err, name.data, n, NULL, a, "needs a value");
				goto fail;
			}
			if (!sw && !val)
				val = src->argv[++i];
			buf_reset(&item);
			buf_addf(&item, "%s=%s", name.data, sw ? "1" : val);
			if (src->extra)
				strlist_add(src->extra, item.data);
			continue;
		}
		for (j = 0; j < ARRAY_SIZE(switches); j++)
			if (strcmp(name.data, switches[j].name) == 0)
				break;
		if (j < ARRAY_SIZE(switches)) {
			if (val) {
				rc = fail(err, name.data, n, NULL, a, "takes no value");
				goto fail;
			}
			*(bool *)((char *)cfg + switches[j].off) = true;
			continue;
		}
		for (j = 0; j < n; j++)
			if (name.data[j] == '-')
				name.data[j] = '_';
		k = key_find(name.data, n);
		if (!k && strcmp(name.data, "config") != 0) {
			rc = fail(err, name.data, n, NULL, a, "unknown option");
			goto fail;
		}
		if (!val && k && k->type == K_BOOL) {
			/* "--summary" alone means true; "--summary off" also works. Where
			 * no positional words are taken, a following word is the value
			 * (so "--summary maybe" is reported as a bad value). */
			const char *next = i + 1 < src->argc ? src->argv[i + 1] : NULL;
			bool take = next && (is_bool_word(next) ||
					     (!src->positional && next[0] != '-'));
			val = take ? src->argv[++i] : "true";
		} else if (!val) {
			if (i + 1 >= src->argc) {
				rc = fail(err, name.data, n, NULL, a, "needs a value");
				goto fail;
			}
			val = src->argv[++i];
		}
		if (!k) {
			*config_file = val;
			continue;
		}
		flags[k - keys].value = val;
		flags[k - keys].label = a;
	}
	rc = 0;
fail:
	buf_free(&name);
	buf_free(&item);
	return rc;
}

/* ---- loading ------------------------------------------------------------ */

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < NKEYS; i++) {
		void *field = (char *)cfg + keys[i].off;
		if (keys[i].type == K_STR)
			free(*(char **)field);
		else if (keys[i].type == K_LIST)
			strlist_free((struct strlist *)field);
	}
	free(cfg->config_file);
	memset(cfg, 0, sizeof(*cfg));
}

/* Cross-key rules, required keys and the AWS_ENDPOINT_URL* variables. */
static int final_checks(struct config *cfg, const struct config_source *src, struct buf *err)
{
	static const char *const endpoint_env[][2] = {
		{"AWS_ENDPOINT_URL", "endpoint_url"},
		{"AWS_ENDPOINT_URL_SQS", "sqs_endpoint_url"},
		{"AWS_ENDPOINT_URL_S3", "s3_endpoint_url"},
		{"AWS_ENDPOINT_URL_SFN", "sfn_endpoint_url"},
		{"AWS_ENDPOINT_URL_STS", "endpoint_url"},
	};
	const char *v, *why, *ign = env_get(src, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	size_t i;
	bool ignore = false;

	if (cfg->sse_kms_key_id && (!cfg->sse || strcmp(cfg->sse, "aws:kms") != 0))
		return fail(err, "sse_kms_key_id", 14, NULL, cfg->sse_kms_key_id,
			    "only valid with sse = aws:kms");
	if (ign && parse_bool(ign, &ignore) < 0)
		return fail(err, "endpoint_url", 12,
			    &(struct origin){"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", 0}, ign,
			    "must be true or false");
	for (i = 0; !ignore && i < ARRAY_SIZE(endpoint_env); i++) {
		v = env_get(src, endpoint_env[i][0]);
		if (v && (why = check_url(v)) != NULL)
			return fail(err, endpoint_env[i][1], strlen(endpoint_env[i][1]),
				    &(struct origin){endpoint_env[i][0], 0}, v, "%s", why);
	}
	for (i = 0; src && src->require_queue_and_bucket && i < NKEYS; i++)
		if ((keys[i].flags & F_REQUIRED) && !*(char **)((char *)cfg + keys[i].off))
			return fail(err, keys[i].name, strlen(keys[i].name), NULL, NULL, "%s",
				    cfg->config_file ? "required"
						     : "required (and no config file was read: "
						       CONFIG_DEFAULT_PATH " does not exist; use --config FILE)");
	return 0;
}

/* Defaults, then argv; then (unless --help/--version) the file text or path,
 * the environment and the flags. */
static int load(struct config *cfg, const struct config_source *src, const char *name,
		const char *text, size_t len, struct buf *err)
{
	struct flag_value flags[NKEYS] = {{0}};
	struct buf file, envname;
	const char *config_file = NULL, *v;
	size_t i, j;
	int rc = 2;

	memset(cfg, 0, sizeof(*cfg));
	buf_init(&file, CONFIG_MAX_FILE);
	buf_init(&envname, 0);
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].def && set_value(cfg, &keys[i], keys[i].def, NULL, err) != 0)
			goto fail; /* a bug in the table */
	}
	if (parse_argv(cfg, src, flags, &config_file, err) != 0)
		goto fail;
	if (cfg->help || cfg->version) {
		rc = 0;
		goto out;
	}
	if (!text) {
		bool explicit = true;
		if (!config_file)
			config_file = env_get(src, "S3STATUSD_CONFIG");
		if (!config_file) {
			config_file = CONFIG_DEFAULT_PATH;
			explicit = false;
		}
		if (read_small_file(config_file, &file) == 0) {
			cfg->config_file = xstrdup(config_file);
		} else if (explicit || errno != ENOENT) {
			rc = fail(err, "config", 6, NULL, config_file, "cannot read the file: %s",
				  errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
			goto fail;
		}
		name = config_file;
		text = buf_str(&file);
		len = file.len;
	} else {
		cfg->config_file = xstrdup(name);
	}
	if (parse_text(cfg, name, text, len, err) != 0)
		goto fail;
	for (i = 0; i < NKEYS; i++) {
		buf_reset(&envname);
		buf_adds(&envname, "S3STATUSD_");
		for (j = 0; keys[i].name[j]; j++) {
			char c = keys[i].name[j];
			buf_addc(&envname, c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
		}
		v = env_get(src, envname.data);
		if (v && set_value(cfg, &keys[i], v, &(struct origin){envname.data, 0}, err) != 0)
			goto fail;
	}
	for (i = 0; i < NKEYS; i++) {
		if (flags[i].value &&
		    set_value(cfg, &keys[i], flags[i].value, &(struct origin){flags[i].label, 0},
			      err) != 0)
			goto fail;
	}
	if (final_checks(cfg, src, err) != 0)
		goto fail;
	rc = 0;
fail:
	if (rc != 0)
		config_free(cfg);
out:
	buf_free(&file);
	buf_free(&envname);
	return rc;
}

int config_load(struct config *cfg, const struct config_source *src, struct buf *err)
{
	return load(cfg, src, NULL, NULL, 0, err);
}

int config_load_text(struct config *cfg, const struct config_source *src, const char *name,
		     const char *text, size_t len, struct buf *err)
{
	return load(cfg, src, name ? name : "(text)", text ? text : "", len, err);
}

const char *config_extra(const struct strlist *extra, const char *name)
{
	size_t i, n = strlen(name);
	const char *found = NULL;

	for (i = 0; extra && i < extra->n; i++)
		if (strncmp(extra->v[i], name, n) == 0 && extra->v[i][n] == '=')
			found = extra->v[i] + n + 1;
	return found;
}

/* ---- dump and usage ----------------------------------------------------- */

/* Write v so that the file parser reads it back unchanged. -1 if it cannot. */
static int dump_value(struct buf *out, const char *v)
{
	size_t n = strlen(v), i;
	bool plain = n > 0 && !is_blank(v[0]) && !is_blank(v[n - 1]) && v[0] != '"' &&
		     v[0] != '\'' && v[0] != '#';

	for (i = 1; plain && i < n; i++)
		if (v[i] == '#' && is_blank(v[i - 1]))
			plain = false;
	if (plain || n == 0)
		return buf_adds(out, v);
	if (!strchr(v, '"'))
		return buf_addf(out, "\"%s\"", v);
	if (!strchr(v, '\''))
		return buf_addf(out, "'%s'", v);
	buf_adds(out, v);
	return -1;
}

int config_dump(const struct config *cfg, struct buf *out)
{
	struct buf v;
	size_t i, j;
	int rc = 0, ival;

	buf_init(&v, 0);
	for (i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const void *field = (const char *)cfg + k->off;
		buf_reset(&v);
		switch (k->type) {
		case K_STR:
			buf_adds(&v, *(char *const *)field ? *(char *const *)field : "");
			break;
		case K_BOOL:
			buf_adds(&v, *(const bool *)field ? "true" : "false");
			break;
		case K_INT:
			buf_addf(&v, "%lld", (long long)*(const int64_t *)field);
			break;
		case K_ENUM:
			memcpy(&ival, field, sizeof(int));
			for (j = 0; k->names[j].name && k->names[j].value != ival; j++)
				;
			buf_adds(&v, k->names[j].name ? k->names[j].name : "?");
			break;
		case K_LIST:
			for (j = 0; j < ((const struct strlist *)field)->n; j++)
				buf_addf(&v, "%s%s", j ? "," : "",
					 ((const struct strlist *)field)->v[j]);
			break;
		}
		buf_addf(out, "%s = ", k->name);
		if (dump_value(out, buf_str(&v)) < 0)
			rc = -1;
		buf_addc(out, '\n');
	}
	buf_free(&v);
	return rc;
}

const char *config_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

void config_usage(struct buf *out, const char *program)
{
	struct buf col;
	size_t i, j;

	buf_init(&col, 0);
	buf_addf(out,
		 "Usage: %s [--config FILE] [--KEY VALUE ...] [--drain | --check]\n\n"
		 "Options (each is also 'key = value' in the config file and the\n"
		 "environment variable S3STATUSD_KEY; flag > environment > file > default):\n",
		 program);
	buf_adds(out, "  --config FILE                 config file (S3STATUSD_CONFIG; default "
		      CONFIG_DEFAULT_PATH ")\n");
	for (i = 0; i < NKEYS; i++) {
		buf_reset(&col);
		buf_adds(&col, "--");
		for (j = 0; keys[i].name[j]; j++)
			buf_addc(&col, keys[i].name[j] == '_' ? '-' : keys[i].name[j]);
		buf_addf(&col, " %s", keys[i].arg);
		buf_addf(out, "  %-29s %s", col.data, keys[i].help);
		if (keys[i].type == K_INT)
			buf_addf(out, " (%lld-%lld)", (long long)keys[i].min,
				 (long long)keys[i].max);
		if (keys[i].flags & F_REQUIRED)
			buf_adds(out, " [required]");
		else if (keys[i].def && *keys[i].def)
			buf_addf(out, " [%s]", keys[i].def);
		buf_addc(out, '\n');
	}
	buf_adds(out, "\nSwitches:\n");
	for (i = 0; i < ARRAY_SIZE(switches); i++)
		buf_addf(out, "  --%-27s %s\n", switches[i].name, switches[i].help);
	buf_free(&col);
}

/* ---- region and endpoints ----------------------------------------------- */

int config_resolve_region(struct config *cfg, const struct config_source *src, struct buf *err)
{
	static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
	struct creds_env env = {src ? src->getenv : NULL, src ? src->env_ctx : NULL};
	const char *v = NULL, *label = NULL, *why;
	char *profile_region = NULL;
	size_t i;
	int rc = -1;

	if (cfg->region)
		return 0;
	for (i = 0; !v && i < ARRAY_SIZE(vars); i++)
		if ((v = env_get(src, vars[i])) != NULL)
			label = vars[i];
	if (!v && (profile_region = aws_profile_config_value(&env, "region")) != NULL) {
		v = profile_region;
		label = "the AWS config file";
	}
	if (!v) {
		fail(err, "region", 6, NULL, NULL,
		     "not set (set region, AWS_REGION, AWS_DEFAULT_REGION or region in AWS profile "
		     "'%s')",
		     aws_profile_name(&env));
		goto fail;
	}
	if ((why = check_region(v)) != NULL) {
		fail(err, "region", 6, &(struct origin){label, 0}, v, "%s", why);
		goto fail;
	}
	cfg->region = xstrdup(v);
	rc = 0;
fail:
	free(profile_region);
	return rc;
}

char *config_endpoint(const struct config *cfg, const struct config_source *src,
		      enum aws_service svc)
{
	static const struct {
		size_t off; /* 0: no own key */
		const char *env, *host;
	} svcs[] = {
		[AWS_SQS] = {offsetof(struct config, sqs_endpoint_url), "AWS_ENDPOINT_URL_SQS",
			     "sqs"},
		[AWS_S3] = {offsetof(struct config, s3_endpoint_url), "AWS_ENDPOINT_URL_S3", "s3"},
		[AWS_SFN] = {offsetof(struct config, sfn_endpoint_url), "AWS_ENDPOINT_URL_SFN",
			     "states"},
		[AWS_STS] = {0, "AWS_ENDPOINT_URL_STS", "sts"},
	};
	const char *v = NULL, *ign;
	bool ignore = false;
	char *url;
	size_t n, min;

	if (svcs[svc].off)
		v = *(char *const *)((const char *)cfg + svcs[svc].off);
	if (!v)
		v = cfg->endpoint_url;
	ign = env_get(src, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	if (ign && parse_bool(ign, &ignore) < 0)
		ignore = false;
	if (!v && !ignore)
		v = env_get(src, svcs[svc].env);
	if (!v && !ignore)
		v = env_get(src, "AWS_ENDPOINT_URL");
	if (!v && !cfg->region)
		return NULL;
	if (v) {
		url = xstrdup(v);
	} else {
		url = xasprintf("https://%s.%s.amazonaws.com%s", svcs[svc].host, cfg->region,
				strncmp(cfg->region, "cn-", 3) == 0 ? ".cn" : "");
	}
	n = strlen(url);
	min = strstr(url, "://") ? (size_t)(strstr(url, "://") - url) + 3 : 0;
	while (n > min && url[n - 1] == '/')
		url[--n] = '\0';
	return url;
}
