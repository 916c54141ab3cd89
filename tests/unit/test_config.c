/* test_config.c - the configuration module: precedence, every type's
 * validation, file syntax, flags, required keys, region and endpoints. */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#define TESTENV_PREFIX "/tmp/s3s-test-config-"
#include "testenv.h"

/* ---- helpers ------------------------------------------------------------ */

/* Load with argv words (NULL-terminated, NULL: none), env and optional file
 * text (written to a temp file and passed with --config). */
static int load(struct config *cfg, struct buf *err, const char *file_text, struct env *env,
		bool require, const char *const *args)
{
	char *argv[64];
	char *path = NULL;
	int argc = 0, rc;
	struct config_source src = {0};

	argv[argc++] = (char *)"s3statusd";
	if (file_text) {
		path = temp_file(file_text, 0644);
		argv[argc++] = (char *)"--config";
		argv[argc++] = path;
	}
	for (; args && *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	src.argc = argc;
	src.argv = argv;
	src.getenv = env_lookup;
	src.env_ctx = env;
	src.require_queue_and_bucket = require;
	buf_reset(err);
	rc = config_load(cfg, &src, err);
	if (path)
		remove_file(path);
	return rc;
}

static bool one_line(const char *s)
{
	return s && *s && !strchr(s, '\n') && !strchr(s, '\r');
}

static bool starts_with(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

/* ---- defaults and precedence -------------------------------------------- */

static void test_defaults(void)
{
	struct config cfg;
	struct buf err;

	buf_init(&err, 0);
	CHECK_INT(load(&cfg, &err, "", NULL, false, NULL), 0);
	CHECK(cfg.queue_url == NULL && cfg.bucket == NULL && cfg.region == NULL);
	CHECK_STR(cfg.prefix, "FTD_CONTRACT_LOADER");
	CHECK(!cfg.s3_path_style);
	CHECK(cfg.dlq_url == NULL);
	CHECK_INT(cfg.max_receives, 5);
	CHECK_INT(cfg.visibility_timeout, 60);
	CHECK_INT(cfg.wait_time, 20);
	CHECK_INT(cfg.max_inflight, 64);
	CHECK_INT(cfg.pollers, 2);
	CHECK(cfg.summary);
	CHECK_INT(cfg.summary_flush_ms, 1000);
	CHECK_INT(cfg.accounts.n, 0);
	CHECK_INT(cfg.statuses.n, 5);
	CHECK(strlist_contains(&cfg.statuses, "pending") && strlist_contains(&cfg.statuses, "completed"));
	CHECK(!strlist_contains(&cfg.statuses, "Pending"));
	CHECK_INT(cfg.record_format, RECORD_FORMAT_RECORD);
	CHECK(cfg.sse == NULL && cfg.sse_kms_key_id == NULL && cfg.ca_file == NULL);
	CHECK_INT(cfg.shutdown_timeout, 30);
	CHECK_INT(cfg.log_level, LOG_LVL_INFO);
	CHECK_INT(cfg.log_format, LOG_FMT_TEXT);
	CHECK(cfg.metrics_file == NULL);
	CHECK(!cfg.drain && !cfg.check && !cfg.help && !cfg.version);
	CHECK(cfg.config_file != NULL);
	config_free(&cfg);
	config_free(&cfg); /* twice is fine */
	buf_free(&err);
}

/* Each row: key, file value, env value, flag value (NULL: not given), and what
 * the dump of the key must read. */
static void test_precedence(void)
{
	static const struct {
		const char *key, *file, *env, *flag, *expect;
	} rows[] = {
		{"prefix", "from-file", NULL, NULL, "from-file"},
		{"prefix", "from-file", "from-env", NULL, "from-env"},
		{"prefix", "from-file", "from-env", "from-flag", "from-flag"},
		{"prefix", NULL, "from-env", NULL, "from-env"},
		{"prefix", NULL, NULL, "from-flag", "from-flag"},
		{"prefix", NULL, NULL, NULL, "FTD_CONTRACT_LOADER"},
		{"max_receives", "7", NULL, NULL, "7"},
		{"max_receives", "7", "8", NULL, "8"},
		{"max_receives", "7", "8", "9", "9"},
		{"max_receives", NULL, NULL, "9", "9"},
		{"s3_path_style", "yes", NULL, NULL, "true"},
		{"s3_path_style", "yes", "off", NULL, "false"},
		{"s3_path_style", "no", "off", "1", "true"},
		{"log_format", "json", NULL, NULL, "json"},
		{"log_format", "json", "text", NULL, "text"},
		{"log_format", "text", "text", "json", "json"},
		{"statuses", "a,b", NULL, NULL, "a,b"},
		{"statuses", "a,b", "C , D", NULL, "c,d"},
		{"statuses", "a,b", "c", "E,e,f", "e,f"},
		{"queue_url", "q1", "q2", NULL, "q2"},
		{"bucket", "file-bucket", NULL, "flag-bucket", "flag-bucket"},
		{"summary_flush_ms", "0", "600000", NULL, "600000"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct config cfg;
		struct buf err, file, envname, flag, dump, want;
		struct env env = {{{NULL}}};
		const char *args[4] = {NULL};
		size_t j;

		buf_init(&err, 0);
		buf_init(&file, 0);
		buf_init(&envname, 0);
		buf_init(&flag, 0);
		buf_init(&dump, 0);
		buf_init(&want, 0);
		if (rows[i].file)
			buf_addf(&file, "# a comment\n%s = %s\n", rows[i].key, rows[i].file);
		buf_adds(&envname, "S3STATUSD_");
		for (j = 0; rows[i].key[j]; j++)
			buf_addc(&envname, (char)(rows[i].key[j] >= 'a' && rows[i].key[j] <= 'z'
							  ? rows[i].key[j] - 'a' + 'A'
							  : rows[i].key[j]));
		if (rows[i].env) {
			env.kv[0][0] = envname.data;
			env.kv[0][1] = rows[i].env;
		}
		if (rows[i].flag) {
			buf_adds(&flag, "--");
			for (j = 0; rows[i].key[j]; j++)
				buf_addc(&flag, rows[i].key[j] == '_' ? '-' : rows[i].key[j]);
			args[0] = flag.data;
			args[1] = rows[i].flag;
		}
		CHECK_INT(load(&cfg, &err, buf_str(&file), &env, false, args), 0);
		if (err.len)
			fprintf(stderr, "row %zu: %s\n", i, buf_str(&err));
		buf_addc(&dump, '\n');
		config_dump(&cfg, &dump);
		buf_addf(&want, "\n%s = %s\n", rows[i].key, rows[i].expect);
		if (!strstr(buf_str(&dump), want.data)) {
			fprintf(stderr, "precedence row %zu: no '%s = %s' in dump\n", i, rows[i].key,
				rows[i].expect);
			CHECK(0);
		}
		config_free(&cfg);
		buf_free(&err);
		buf_free(&file);
		buf_free(&envname);
		buf_free(&flag);
		buf_free(&dump);
		buf_free(&want);
	}
}

/* ---- bad values: exit 2 and one line naming the key and the source ------ */

static const struct {
	const char *key, *value;
} bad_values[] = {
	{"max_receives", "0"},
	{"max_receives", "1001"},
	{"max_receives", "five"},
	{"max_receives", "5x"},
	{"max_receives", " "},
	{"visibility_timeout", "-1"},
	{"visibility_timeout", "43201"},
	{"wait_time", "21"},
	{"max_inflight", "0"},
	{"max_inflight", "10001"},
	{"pollers", "0"},
	{"pollers", "65"},
	{"summary_flush_ms", "600001"},
	{"shutdown_timeout", "3601"},
	{"shutdown_timeout", "99999999999999999999999"},
	{"s3_path_style", "maybe"},
	{"summary", "2"},
	{"record_format", "json"},
	{"log_level", "verbose"},
	{"log_format", "xml"},
	{"sse", "aes256"},
	{"sse", "kms"},
	{"statuses", "pending,,failed"},
	{"statuses", "pending,fail ed"},
	{"statuses", "pending,.."},
	{"statuses", ","},
	{"accounts", "a,,b"},
	{"accounts", "\xff\xfe"},
	{"prefix", "/abs"},
	{"prefix", "trailing/"},
	{"prefix", "a//b"},
	{"prefix", "a/./b"},
	{"prefix", "a/../b"},
	{"prefix", ".."},
	{"prefix", "bad\x01"},
	{"bucket", "ab"},
	{"bucket", "Upper-Case"},
	{"bucket", "under_score"},
	{"bucket", "-leading"},
	{"bucket", "trailing-"},
	{"bucket", "two..dots"},
	{"bucket", "192.168.1.1"},
	{"bucket", "xn--bucket"},
	{"bucket", "my-bucket-s3alias"},
	{"bucket", "a-bucket-name-that-is-far-too-long-to-be-accepted-by-amazon-s3-x"},
	{"queue_url", "ftp://example.com/q"},
	{"queue_url", "bad queue name"},
	{"queue_url", "arn:aws:sqs:eu-west-1:123456789012:q"},
	{"dlq_url", "bad dlq name"},
	{"dlq_url", "https://"},
	{"endpoint_url", "localhost:4566"},
	{"sqs_endpoint_url", "http://user:pw@localhost"},
	{"s3_endpoint_url", "s3://bucket"},
	{"sfn_endpoint_url", "http:/x"},
	{"region", "EU-WEST-1"},
	{"region", "eu west 1"},
	{"ca_file", "/nonexistent/ca.pem"},
	{"ca_file", "/tmp"},
};

static void test_bad_values(void)
{
	size_t i;
	int how;

	for (i = 0; i < ARRAY_SIZE(bad_values); i++) {
		for (how = 0; how < 3; how++) {
			struct config cfg;
			struct buf err, text, name, prefix;
			struct env env = {{{NULL}}};
			const char *args[3] = {NULL};
			size_t j;
			int rc;

			buf_init(&err, 0);
			buf_init(&text, 0);
			buf_init(&name, 0);
			buf_init(&prefix, 0);
			buf_addf(&prefix, "config: %s: ", bad_values[i].key);
			if (how == 0) { /* file, on line 3 */
				buf_addf(&text, "\n# x\n%s = '%s'\n", bad_values[i].key,
					 bad_values[i].value);
			} else if (how == 1) {
				buf_adds(&name, "S3STATUSD_");
				for (j = 0; bad_values[i].key[j]; j++) {
					char c = bad_values[i].key[j];
					buf_addc(&name, c >= 'a' && c <= 'z' ? (char)(c - 32) : c);
				}
				env.kv[0][0] = name.data;
				env.kv[0][1] = bad_values[i].value;
			} else {
				buf_addf(&name, "--%s", bad_values[i].key);
				for (j = 2; j < name.len; j++)
					if (name.data[j] == '_')
						name.data[j] = '-';
				args[0] = name.data;
				args[1] = bad_values[i].value;
			}
			rc = load(&cfg, &err, buf_str(&text), &env, false, args);
			if (rc != 2 || !starts_with(buf_str(&err), prefix.data) ||
			    !one_line(buf_str(&err)) || !strstr(buf_str(&err), " (got '") ||
			    (how == 0 && !strstr(buf_str(&err), ":3 (got")) ||
			    (how == 1 && !strstr(buf_str(&err), " in S3STATUSD_")) ||
			    (how == 2 && !strstr(buf_str(&err), " in --"))) {
				fprintf(stderr, "bad value %s='%s' via %d: rc %d, err '%s'\n",
					bad_values[i].key, bad_values[i].value, how, rc,
					buf_str(&err));
				CHECK(0);
			} else {
				CHECK(1);
			}
			/* A failed load leaves nothing behind. */
			CHECK(cfg.prefix == NULL && cfg.statuses.n == 0);
			config_free(&cfg);
			buf_free(&err);
			buf_free(&text);
			buf_free(&name);
			buf_free(&prefix);
		}
	}
}

static void test_exact_messages(void)
{
	static const struct {
		const char *file;
		const char *args[4];
		const char *expect; /* "%s" is the file path */
	} rows[] = {
		{"max_receives = 0\n", {NULL},
		 "config: max_receives: must be an integer from 1 to 1000 in %s:1 (got '0')"},
		{"", {"--wait-time", "30", NULL},
		 "config: wait_time: must be an integer from 0 to 20 in --wait-time (got '30')"},
		{"", {"--wait-time=30", NULL},
		 "config: wait_time: must be an integer from 0 to 20 in --wait-time=30 (got '30')"},
		{"a = 1\n\n\nfrobnicate = 3\n", {NULL}, "config: a: unknown key in %s:1"},
		{"# c\n\nfrobnicate = 3\n", {NULL}, "config: frobnicate: unknown key in %s:3"},
		{"prefix = a\nprefix = b\n", {NULL},
		 "config: prefix: duplicate key (first set on line 1) in %s:2"},
		{"just words\n", {NULL},
		 "config: syntax: expected 'key = value' in %s:1"},
		{"= value\n", {NULL}, "config: syntax: expected 'key = value' in %s:1"},
		/* never a line of the wrong file: /etc/shadow, a PEM key */
		{"root:$y$j9T$abc$def:19000:0:99999:7:::\n", {NULL},
		 "config: syntax: expected 'key = value' in %s:1"},
		{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj==\n", {NULL},
		 "config: syntax: unknown key (not shown: not a lower-case key name) in %s:1"},
		{"prefix = \"abc\n", {NULL}, "config: prefix: unterminated quote in %s:1"},
		{"prefix = \"abc\" def\n", {NULL},
		 "config: prefix: text after the closing quote in %s:1"},
		{"record_format = csv\n", {NULL},
		 "config: record_format: must be record or payload in %s:1 (got 'csv')"},
		{"sse = AES256\nsse_kms_key_id = k1\n", {NULL},
		 "config: sse_kms_key_id: only valid with sse = aws:kms (got 'k1')"},
		{"", {"--bogus", NULL}, "config: bogus: unknown option (got '--bogus')"},
		{"", {"-x", NULL}, "config: -x: unknown option"},
		{"", {"--prefix", NULL}, "config: prefix: needs a value (got '--prefix')"},
		{"", {"stray", NULL}, "config: argument: unexpected (got 'stray')"},
		{"", {"--drain=yes", NULL}, "config: drain: takes no value (got '--drain=yes')"},
		{"statuses =\n", {NULL}, "config: statuses: must not be empty in %s:1 (got '')"},
		{"prefix = ''\n", {NULL}, "config: prefix: must not be empty in %s:1 (got '')"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct config cfg;
		struct buf err, want;
		struct config_source src = {0};
		char *argv[8];
		char *path = temp_file(rows[i].file, 0600);
		int argc = 0, rc;
		size_t j;

		buf_init(&err, 0);
		buf_init(&want, 0);
		argv[argc++] = (char *)"s3statusd";
		argv[argc++] = (char *)"--config";
		argv[argc++] = path;
		for (j = 0; rows[i].args[j]; j++)
			argv[argc++] = (char *)rows[i].args[j];
		src.argc = argc;
		src.argv = argv;
		src.getenv = env_lookup;
		rc = config_load(&cfg, &src, &err);
		CHECK_INT(rc, 2);
		{ /* rows[i].expect with "%s" replaced by the path */
			const char *pct = strstr(rows[i].expect, "%s");
			if (pct) {
				buf_add(&want, rows[i].expect, (size_t)(pct - rows[i].expect));
				buf_adds(&want, path);
				buf_adds(&want, pct + 2);
			} else {
				buf_adds(&want, rows[i].expect);
			}
		}
		CHECK_STR(buf_str(&err), want.data);
		config_free(&cfg);
		buf_free(&err);
		buf_free(&want);
		remove_file(path);
	}
}

static void test_bounds(void)
{
	static const struct {
		const char *key;
		long long min, max;
	} rows[] = {
		{"max_receives", 1, 1000},   {"visibility_timeout", 0, 43200}, {"wait_time", 0, 20},
		{"max_inflight", 1, 10000},  {"pollers", 1, 64},               {"summary_flush_ms", 0, 600000},
		{"shutdown_timeout", 0, 3600},
	};
	size_t i;
	int d;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		for (d = 0; d < 4; d++) {
			long long v = d == 0 ? rows[i].min - 1
				      : d == 1 ? rows[i].min
				      : d == 2 ? rows[i].max
						 : rows[i].max + 1;
			struct config cfg;
			struct buf err, text;

			buf_init(&err, 0);
			buf_init(&text, 0);
			buf_addf(&text, "%s = %lld\n", rows[i].key, v);
			CHECK_INT(load(&cfg, &err, text.data, NULL, false, NULL), d == 1 || d == 2 ? 0 : 2);
			config_free(&cfg);
			buf_free(&err);
			buf_free(&text);
		}
	}
}

static void test_bools(void)
{
	static const struct {
		const char *word;
		bool value;
	} rows[] = {
		{"true", true}, {"TRUE", true},	  {"yes", true},  {"on", true},	 {"1", true},
		{"false", false}, {"No", false}, {"off", false}, {"0", false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct config cfg;
		struct buf err, text;

		buf_init(&err, 0);
		buf_init(&text, 0);
		buf_addf(&text, "summary = %s\ns3_path_style = %s\n", rows[i].word, rows[i].word);
		CHECK_INT(load(&cfg, &err, text.data, NULL, false, NULL), 0);
		CHECK(cfg.summary == rows[i].value && cfg.s3_path_style == rows[i].value);
		config_free(&cfg);
		buf_free(&err);
		buf_free(&text);
	}
}

/* ---- file syntax -------------------------------------------------------- */

static void test_file_syntax(void)
{
	static const char text[] =
		"\xEF\xBB\xBF# s3statusd\r\n"
		"   \t\n"
		"queue_url = http://localhost:4566/000000000000/q#frag   # trailing comment\r\n"
		"bucket=my.bucket-1\n"
		"  prefix   =   \"a b # not a comment\"   # comment\n"
		"accounts = 'acme, Beta ,acme'\n"
		"sse = aws:kms\n"
		"sse_kms_key_id = alias/my-key\n"
		"endpoint_url = http://localhost:4566/\n"
		"log_level = DEBUG\n"
		"record_format = Payload\n"
		"metrics_file = /var/lib/s3statusd/metrics.prom#x\n"
		"dlq_url =\n";
	struct config cfg;
	struct buf err;

	buf_init(&err, 0);
	CHECK_INT(load(&cfg, &err, text, NULL, true, NULL), 0);
	CHECK_STR(buf_str(&err), "");
	CHECK_STR(cfg.queue_url, "http://localhost:4566/000000000000/q#frag");
	CHECK_STR(cfg.bucket, "my.bucket-1");
	CHECK_STR(cfg.prefix, "a b # not a comment");
	CHECK_INT(cfg.accounts.n, 2);
	CHECK(strlist_contains(&cfg.accounts, "acme") && strlist_contains(&cfg.accounts, "Beta"));
	CHECK(!strlist_contains(&cfg.accounts, "beta"));
	CHECK_STR(cfg.sse, "aws:kms");
	CHECK_STR(cfg.sse_kms_key_id, "alias/my-key");
	CHECK_STR(cfg.endpoint_url, "http://localhost:4566/");
	CHECK_INT(cfg.log_level, LOG_LVL_DEBUG);
	CHECK_INT(cfg.record_format, RECORD_FORMAT_PAYLOAD);
	CHECK_STR(cfg.metrics_file, "/var/lib/s3statusd/metrics.prom#x");
	CHECK(cfg.dlq_url == NULL);
	config_free(&cfg);

	/* A NUL byte in the file is refused. */
	{
		struct config_source src = {0};
		CHECK_INT(config_load_text(&cfg, &src, "mem", "prefix = a\n\0x = 1\n", 18, &err), 2);
		CHECK_STR(buf_str(&err), "config: syntax: NUL byte in the file in mem:2");
	}
	buf_free(&err);
}

static void test_statuses(void)
{
	struct config cfg;
	struct buf err;

	buf_init(&err, 0);
	CHECK_INT(load(&cfg, &err, "statuses = Pending, RUNNING ,done,pending,re-try_1\n", NULL,
		       false, NULL),
		  0);
	CHECK_INT(cfg.statuses.n, 4);
	if (cfg.statuses.n == 4) {
		CHECK_STR(cfg.statuses.v[0], "pending");
		CHECK_STR(cfg.statuses.v[1], "running");
		CHECK_STR(cfg.statuses.v[2], "done");
		CHECK_STR(cfg.statuses.v[3], "re-try_1");
	}
	CHECK(strlist_contains(&cfg.statuses, "running"));
	CHECK(!strlist_contains(&cfg.statuses, "RUNNING"));
	CHECK(!strlist_contains(NULL, "x"));
	config_free(&cfg);
	buf_free(&err);
}

/* ---- required keys, config file location -------------------------------- */

static void test_required(void)
{
	static const struct {
		const char *file, *expect;
	} rows[] = {
		{"", "config: queue_url: required"},
		{"bucket = b-1\n", "config: queue_url: required"},
		{"queue_url = q\n", "config: bucket: required"},
		{"queue_url = q\nbucket =\n", "config: bucket: required"},
		{"queue_url = q\nbucket = b-1\n", ""},
		{"queue_url = https://sqs.eu-west-1.amazonaws.com/1/q.fifo\nbucket = b-1\n", ""},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct config cfg;
		struct buf err;

		buf_init(&err, 0);
		CHECK_INT(load(&cfg, &err, rows[i].file, NULL, true, NULL), *rows[i].expect ? 2 : 0);
		CHECK_STR(buf_str(&err), rows[i].expect);
		config_free(&cfg);
		/* Not required: fine. */
		CHECK_INT(load(&cfg, &err, rows[i].file, NULL, false, NULL), 0);
		config_free(&cfg);
		buf_free(&err);
	}
}

static void test_config_file_choice(void)
{
	char *a = temp_file("prefix = from-a\n", 0644);
	char *b = temp_file("prefix = from-b\n", 0644);
	struct env env = {{{"S3STATUSD_CONFIG", b}}};
	struct env missing = {{{"S3STATUSD_CONFIG", "/nonexistent/s3statusd.conf"}}};
	struct config cfg;
	struct buf err;
	const char *args_a[] = {"--config", a, NULL};
	const char *args_a_eq[3] = {NULL};
	const char *args_missing[] = {"--config", "/nonexistent/x.conf", NULL};
	const char *args_dir[] = {"--config", "/tmp", NULL};
	const char *help_args[] = {"--config", "/nonexistent/x.conf", "--help", NULL};
	const char *version_args[] = {"--version", "--max-receives", "0", NULL};
	char *eq = xasprintf("--config=%s", a);

	buf_init(&err, 0);
	args_a_eq[0] = eq;
	CHECK_INT(load(&cfg, &err, NULL, &env, false, NULL), 0);
	CHECK_STR(cfg.prefix, "from-b");
	CHECK_STR(cfg.config_file, b);
	config_free(&cfg);
	CHECK_INT(load(&cfg, &err, NULL, &env, false, args_a), 0);
	CHECK_STR(cfg.prefix, "from-a");
	config_free(&cfg);
	CHECK_INT(load(&cfg, &err, NULL, &env, false, args_a_eq), 0);
	CHECK_STR(cfg.prefix, "from-a");
	config_free(&cfg);
	/* An explicit file that is missing is an error, from the flag or the env. */
	CHECK_INT(load(&cfg, &err, NULL, NULL, false, args_missing), 2);
	CHECK_STR(buf_str(&err), "config: config: cannot read the file: No such file or directory "
				 "(got '/nonexistent/x.conf')");
	CHECK_INT(load(&cfg, &err, NULL, &missing, false, NULL), 2);
	CHECK(starts_with(buf_str(&err), "config: config: cannot read the file"));
	CHECK_INT(load(&cfg, &err, NULL, NULL, false, args_dir), 2);
	CHECK(starts_with(buf_str(&err), "config: config: cannot read the file: Is a directory"));
	/* The default file may be missing (no /etc/s3statusd here). */
	if (access(CONFIG_DEFAULT_PATH, F_OK) != 0) {
		CHECK_INT(load(&cfg, &err, NULL, NULL, false, NULL), 0);
		CHECK(cfg.config_file == NULL);
		config_free(&cfg);
	}
	/* --help and --version only look at argv. */
	CHECK_INT(load(&cfg, &err, NULL, NULL, true, help_args), 0);
	CHECK(cfg.help);
	config_free(&cfg);
	CHECK_INT(load(&cfg, &err, NULL, NULL, true, version_args), 0);
	CHECK(cfg.version);
	config_free(&cfg);
	free(eq);
	remove_file(a);
	remove_file(b);
	buf_free(&err);
}

/* ---- flags, CLI extras -------------------------------------------------- */

static void test_flags(void)
{
	static const char *const extra_opts[] = {"batch", "task", "json!", NULL};
	struct strlist positional = {0}, extra = {0};
	struct config cfg;
	struct buf err;
	struct config_source src = {0};
	char *argv[] = {"s3status", "get", "--batch", "b1", "--json", "--s3-path-style",
			"--summary", "off", "--drain", "--check", "-h", "--max_receives=9",
			"--task=t 1", "--prefix", "--dash-value", "--", "--not-an-option", NULL};

	buf_init(&err, 0);
	src.argc = (int)ARRAY_SIZE(argv) - 1;
	src.argv = argv;
	src.getenv = env_lookup;
	src.positional = &positional;
	src.extra_options = extra_opts;
	src.extra = &extra;
	src.require_queue_and_bucket = false;
	/* Help short-circuits; take -h out to see the rest. */
	CHECK_INT(config_load(&cfg, &src, &err), 0);
	CHECK(cfg.help);
	config_free(&cfg);
	strlist_free(&positional);
	strlist_free(&extra);
	argv[10] = "--drain";
	CHECK_INT(config_load(&cfg, &src, &err), 0);
	CHECK_STR(buf_str(&err), "");
	CHECK(cfg.s3_path_style && !cfg.summary && cfg.drain && cfg.check && !cfg.help);
	CHECK_INT(cfg.max_receives, 9);
	CHECK_STR(cfg.prefix, "--dash-value");
	CHECK_INT(positional.n, 2);
	if (positional.n == 2) {
		CHECK_STR(positional.v[0], "get");
		CHECK_STR(positional.v[1], "--not-an-option");
	}
	CHECK_STR(config_extra(&extra, "batch"), "b1");
	CHECK_STR(config_extra(&extra, "task"), "t 1");
	CHECK_STR(config_extra(&extra, "json"), "1");
	CHECK(config_extra(&extra, "history") == NULL);
	CHECK(config_extra(&extra, "bat") == NULL);
	config_free(&cfg);
	strlist_free(&positional);
	strlist_free(&extra);

	/* An extra option's value is required; a switch takes none. */
	{
		char *a1[] = {"s3status", "--batch", NULL};
		char *a2[] = {"s3status", "--json=yes", NULL};
		src.argc = 2;
		src.argv = a1;
		CHECK_INT(config_load(&cfg, &src, &err), 2);
		CHECK_STR(buf_str(&err), "config: batch: needs a value (got '--batch')");
		src.argv = a2;
		CHECK_INT(config_load(&cfg, &src, &err), 2);
		CHECK_STR(buf_str(&err), "config: json: takes no value (got '--json=yes')");
		strlist_free(&positional);
		strlist_free(&extra);
	}
	/* The last of a repeated flag wins. */
	{
		char *a3[] = {"s3statusd", "--pollers", "3", "--pollers", "4", NULL};
		src.argc = 5;
		src.argv = a3;
		src.positional = NULL;
		src.extra_options = NULL;
		src.extra = NULL;
		CHECK_INT(config_load(&cfg, &src, &err), 0);
		CHECK_INT(cfg.pollers, 4);
		config_free(&cfg);
	}
	buf_free(&err);
}

/* ---- messages stay short and on one line -------------------------------- */

static void test_message_hygiene(void)
{
	struct config cfg;
	struct buf err, text;
	struct env env = {{{"S3STATUSD_PREFIX", "line1\nline2"}}};
	size_t i;

	buf_init(&err, 0);
	buf_init(&text, 0);
	buf_adds(&text, "bucket = ");
	for (i = 0; i < 300; i++)
		buf_addc(&text, 'x');
	buf_adds(&text, "\n");
	CHECK_INT(load(&cfg, &err, text.data, NULL, false, NULL), 2);
	CHECK(one_line(buf_str(&err)));
	CHECK(strstr(buf_str(&err), "xxx...')") != NULL);
	CHECK(err.len < 200);
	CHECK_INT(load(&cfg, &err, "", &env, false, NULL), 2);
	CHECK(one_line(buf_str(&err)));
	CHECK_STR(buf_str(&err), "config: prefix: must not contain control characters in "
				 "S3STATUSD_PREFIX (got 'line1\\x0Aline2')");
	/* Credentials in a URL are refused and not echoed. */
	CHECK_INT(load(&cfg, &err, "endpoint_url = http://AKIDEXAMPLE:s3cr3t@localhost:4566\n",
		       NULL, false, NULL),
		  2);
	CHECK(starts_with(buf_str(&err), "config: endpoint_url: must not contain user:password@"));
	CHECK(!strstr(buf_str(&err), "s3cr3t") && !strstr(buf_str(&err), "AKIDEXAMPLE"));
	CHECK(strstr(buf_str(&err), "(got 'http://***@localhost:4566')") != NULL);
	buf_free(&err);
	buf_free(&text);
}

/* ---- region ------------------------------------------------------------- */

static void test_region(void)
{
	char *awsconf = temp_file("[default]\nregion = eu-north-1\n"
				  "[profile other]\n  Region = ap-south-2 ; comment\n"
				  "[profile bad]\nregion = Not A Region\n",
				  0644);
	static const struct {
		const char *cfg_region, *aws_region, *aws_default_region, *profile, *expect;
		int rc;
	} rows[] = {
		{"us-west-2", "eu-west-1", "eu-west-2", NULL, "us-west-2", 0},
		{NULL, "eu-west-1", "eu-west-2", NULL, "eu-west-1", 0},
		{NULL, NULL, "eu-west-2", NULL, "eu-west-2", 0},
		{NULL, NULL, NULL, NULL, "eu-north-1", 0},
		{NULL, NULL, NULL, "other", "ap-south-2", 0},
		{NULL, NULL, NULL, "missing", NULL, -1},
		{NULL, NULL, NULL, "bad", NULL, -1},
		{NULL, "bad region", NULL, NULL, NULL, -1},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct env env = {{{"AWS_CONFIG_FILE", awsconf},
				   {"AWS_REGION", rows[i].aws_region ? rows[i].aws_region : ""},
				   {"AWS_DEFAULT_REGION",
				    rows[i].aws_default_region ? rows[i].aws_default_region : ""},
				   {"AWS_PROFILE", rows[i].profile ? rows[i].profile : ""}}};
		struct config_source src = {.getenv = env_lookup, .env_ctx = &env};
		struct config cfg;
		struct buf err;

		buf_init(&err, 0);
		CHECK_INT(config_load_text(&cfg, &src, "t", "", 0, &err), 0);
		if (rows[i].cfg_region)
			cfg.region = xstrdup(rows[i].cfg_region);
		CHECK_INT(config_resolve_region(&cfg, &src, &err), rows[i].rc);
		if (rows[i].expect)
			CHECK_STR(cfg.region, rows[i].expect);
		else
			CHECK(cfg.region == NULL && starts_with(buf_str(&err), "config: region: ") &&
			      one_line(buf_str(&err)));
		config_free(&cfg);
		buf_free(&err);
	}
	remove_file(awsconf);
}

/* ---- endpoints ---------------------------------------------------------- */

static void test_endpoints(void)
{
	static const struct {
		const char *file;        /* config keys */
		const char *env[4][2];   /* environment */
		enum aws_service svc;
		const char *expect;
	} rows[] = {
		{"region = eu-west-1\n", {{NULL}}, AWS_SQS, "https://sqs.eu-west-1.amazonaws.com"},
		{"region = eu-west-1\n", {{NULL}}, AWS_S3, "https://s3.eu-west-1.amazonaws.com"},
		{"region = eu-west-1\n", {{NULL}}, AWS_SFN, "https://states.eu-west-1.amazonaws.com"},
		{"region = eu-west-1\n", {{NULL}}, AWS_STS, "https://sts.eu-west-1.amazonaws.com"},
		{"region = cn-north-1\n", {{NULL}}, AWS_S3, "https://s3.cn-north-1.amazonaws.com.cn"},
		{"region = cn-northwest-1\n", {{NULL}}, AWS_STS,
		 "https://sts.cn-northwest-1.amazonaws.com.cn"},
		/* service key > endpoint_url > AWS_ENDPOINT_URL_<SVC> > AWS_ENDPOINT_URL */
		{"region = eu-west-1\nsqs_endpoint_url = http://sqs.local:1/\nendpoint_url = http://all:2\n",
		 {{"AWS_ENDPOINT_URL_SQS", "http://env-sqs:3"}, {"AWS_ENDPOINT_URL", "http://env:4"}},
		 AWS_SQS, "http://sqs.local:1"},
		{"region = eu-west-1\ns3_endpoint_url = http://s3.local:1\nendpoint_url = http://all:2\n",
		 {{"AWS_ENDPOINT_URL_S3", "http://env-s3:3"}}, AWS_S3, "http://s3.local:1"},
		{"region = eu-west-1\nsfn_endpoint_url = http://sfn.local:1\n", {{NULL}}, AWS_SFN,
		 "http://sfn.local:1"},
		{"region = eu-west-1\nsqs_endpoint_url = http://sqs.local:1\nendpoint_url = http://all:2/\n",
		 {{"AWS_ENDPOINT_URL_S3", "http://env-s3:3"}}, AWS_S3, "http://all:2"},
		{"region = eu-west-1\nendpoint_url = http://all:2\n",
		 {{"AWS_ENDPOINT_URL_STS", "http://env-sts:3"}}, AWS_STS, "http://all:2"},
		{"region = eu-west-1\n",
		 {{"AWS_ENDPOINT_URL_SQS", "http://env-sqs:3//"}, {"AWS_ENDPOINT_URL", "http://env:4"}},
		 AWS_SQS, "http://env-sqs:3"},
		{"region = eu-west-1\n",
		 {{"AWS_ENDPOINT_URL_S3", "http://env-s3:3"}, {"AWS_ENDPOINT_URL", "http://env:4"}},
		 AWS_S3, "http://env-s3:3"},
		{"region = eu-west-1\n",
		 {{"AWS_ENDPOINT_URL_SFN", "http://env-sfn:3"}, {"AWS_ENDPOINT_URL", "http://env:4"}},
		 AWS_SFN, "http://env-sfn:3"},
		{"region = eu-west-1\n",
		 {{"AWS_ENDPOINT_URL_STS", "http://env-sts:3"}, {"AWS_ENDPOINT_URL", "http://env:4"}},
		 AWS_STS, "http://env-sts:3"},
		{"region = eu-west-1\n",
		 {{"AWS_ENDPOINT_URL_S3", "http://env-s3:3"}, {"AWS_ENDPOINT_URL", "http://env:4"}},
		 AWS_SQS, "http://env:4"},
		{"", {{"AWS_ENDPOINT_URL", "http://localhost:4566/"}}, AWS_SFN, "http://localhost:4566"},
		{"region = eu-west-1\n",
		 {{"AWS_ENDPOINT_URL", "http://env:4"}, {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}},
		 AWS_SQS, "https://sqs.eu-west-1.amazonaws.com"},
		{"", {{NULL}}, AWS_SQS, NULL}, /* no region, no override */
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct env env = {{{NULL}}};
		struct config_source src = {.getenv = env_lookup, .env_ctx = &env};
		struct config cfg;
		struct buf err;
		char *url;

		for (j = 0; j < 4 && rows[i].env[j][0]; j++) {
			env.kv[j][0] = rows[i].env[j][0];
			env.kv[j][1] = rows[i].env[j][1];
		}
		buf_init(&err, 0);
		CHECK_INT(config_load_text(&cfg, &src, "t", rows[i].file, strlen(rows[i].file), &err),
			  0);
		url = config_endpoint(&cfg, &src, rows[i].svc);
		if (rows[i].expect) {
			CHECK_STR(url, rows[i].expect);
		} else {
			CHECK(url == NULL);
		}
		free(url);
		config_free(&cfg);
		buf_free(&err);
	}

	/* A bad AWS_ENDPOINT_URL* stops loading. */
	{
		struct env env = {{{"AWS_ENDPOINT_URL_S3", "localhost:4566"}}};
		struct config_source src = {.getenv = env_lookup, .env_ctx = &env};
		struct config cfg;
		struct buf err;

		buf_init(&err, 0);
		CHECK_INT(config_load_text(&cfg, &src, "t", "", 0, &err), 2);
		CHECK_STR(buf_str(&err), "config: s3_endpoint_url: must be an http:// or https:// URL "
					 "in AWS_ENDPOINT_URL_S3 (got 'localhost:4566')");
		buf_free(&err);
	}
}

/* ---- dump, usage and the example file ----------------------------------- */

static void test_dump_roundtrip(void)
{
	static const char text[] = "queue_url = q\nbucket = b-1\nprefix = \" spaced # p\"\n"
				   "accounts = x,y\nstatuses = A,b\nsse = aws:kms\n"
				   "sse_kms_key_id = k\nlog_level = warn\nsummary = off\n";
	struct config a, b;
	struct buf err, d1, d2;

	buf_init(&err, 0);
	buf_init(&d1, 0);
	buf_init(&d2, 0);
	CHECK_INT(config_load_text(&a, NULL, "t", text, strlen(text), &err), 0);
	CHECK_INT(config_dump(&a, &d1), 0);
	CHECK_INT(config_load_text(&b, NULL, "dump", d1.data, d1.len, &err), 0);
	CHECK_INT(config_dump(&b, &d2), 0);
	CHECK_STR(d2.data, d1.data);
	CHECK(strstr(d1.data, "\nlog_level = warning\n") != NULL);
	CHECK(strstr(d1.data, "\nprefix = \" spaced # p\"\n") != NULL);
	config_free(&a);
	config_free(&b);
	buf_free(&err);
	buf_free(&d1);
	buf_free(&d2);
}

static void test_usage_and_example(void)
{
	const char *srcdir = getenv("S3S_SOURCE_DIR");
	struct buf usage, err, flag;
	struct config cfg;
	char *example;
	size_t i, j;

	buf_init(&usage, 0);
	buf_init(&err, 0);
	buf_init(&flag, 0);
	config_usage(&usage, "s3statusd");
	CHECK(starts_with(usage.data, "Usage: s3statusd "));
	for (i = 0; config_key_name(i); i++) {
		buf_reset(&flag);
		buf_adds(&flag, "--");
		for (j = 0; config_key_name(i)[j]; j++)
			buf_addc(&flag, config_key_name(i)[j] == '_' ? '-' : config_key_name(i)[j]);
		buf_addc(&flag, ' ');
		if (!strstr(usage.data, flag.data)) {
			fprintf(stderr, "usage lacks %s\n", flag.data);
			CHECK(0);
		}
	}
	CHECK(i == 27);
	CHECK(strstr(usage.data, "--drain") && strstr(usage.data, "--check") &&
	      strstr(usage.data, "--version") && strstr(usage.data, "--help"));

	/* The example config names every key and loads as it is. */
	example = xasprintf("%s/examples/s3statusd.conf", srcdir ? srcdir : ".");
	if (access(example, R_OK) == 0) {
		const char *args[] = {"--config", example, NULL};
		FILE *f = fopen(example, "re");
		struct buf text;
		char chunk[4096];
		size_t n;

		buf_init(&text, 0);
		while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_add(&text, chunk, n);
		if (f)
			fclose(f);
		for (i = 0; config_key_name(i); i++) {
			buf_reset(&flag);
			buf_addf(&flag, "\n# %s =", config_key_name(i));
			if (!strstr(buf_str(&text), flag.data)) {
				fprintf(stderr, "example lacks '# %s ='\n", config_key_name(i));
				CHECK(0);
			}
		}
		CHECK_INT(load(&cfg, &err, NULL, NULL, false, args), 0);
		CHECK_STR(buf_str(&err), "");
		config_free(&cfg);
		buf_free(&text);
	} else {
		fprintf(stderr, "note: %s not found, example not checked\n", example);
	}
	free(example);
	buf_free(&usage);
	buf_free(&err);
	buf_free(&flag);
}

int main(void)
{
	test_defaults();
	test_precedence();
	test_bad_values();
	test_exact_messages();
	test_bounds();
	test_bools();
	test_file_syntax();
	test_statuses();
	test_required();
	test_config_file_choice();
	test_flags();
	test_message_hygiene();
	test_region();
	test_endpoints();
	test_dump_roundtrip();
	test_usage_and_example();
	return check_done("test_config");
}
