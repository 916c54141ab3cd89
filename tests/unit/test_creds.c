/* test_creds.c - the credentials chain's synchronous part: environment,
 * shared credentials and config files with profiles, file secrecy, partial
 * keys, and that no error text ever holds a secret. The HTTP sources are in
 * test_creds_async.c, their parsers in test_creds_parse.c. */
#include "creds.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#define TESTENV_PREFIX "/tmp/s3s-test-creds-"
#include "testenv.h"

#define SECRET_ENV "envSECRETenvSECRETenvSECRET0000000000000"
#define SECRET_CRED "credSECRETcredSECRETcredSECRET/+00000000"
#define SECRET_CONF "confSECRETconfSECRETconfSECRET/+00000000"
#define TOKEN_CRED "credTOKENcredTOKENcredTOKEN=="
#define TOKEN_ENV "envTOKENenvTOKENenvTOKEN=="

/* No error text may hold any of the test secrets. */
static void check_no_secret(const char *line, int at)
{
	static const char *const secrets[] = {SECRET_ENV, SECRET_CRED, SECRET_CONF, TOKEN_CRED,
					      TOKEN_ENV, "envSECRET", "credSECRET", "confSECRET",
					      "credTOKEN", "envTOKEN"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(secrets); i++) {
		check_count++;
		if (strstr(line, secrets[i])) {
			check_failures++;
			fprintf(stderr, "line %d: error text holds a secret: %s\n", at, line);
		}
	}
}

struct result {
	int rc;
	char id[64], secret[64], token[64], source[32];
	int64_t expiration_ms;
	char err[1024];
};

static void run(struct env *env, struct result *r, int at)
{
	struct creds_env ce = {env_lookup, env};
	struct creds_chain *c = creds_chain_new(&ce);
	const struct aws_creds *cr;
	struct buf err;

	memset(r, 0, sizeof(*r));
	buf_init(&err, 0);
	r->rc = creds_chain_load(c, &err);
	cr = creds_chain_current(c);
	if (r->rc == 0 && cr) {
		snprintf(r->id, sizeof(r->id), "%s", cr->access_key_id);
		snprintf(r->secret, sizeof(r->secret), "%s", cr->secret_access_key);
		snprintf(r->token, sizeof(r->token), "%s", cr->session_token ? cr->session_token : "");
		snprintf(r->source, sizeof(r->source), "%s", cr->source);
		r->expiration_ms = cr->expiration_ms;
	} else {
		CHECK(cr == NULL);
	}
	snprintf(r->err, sizeof(r->err), "%s", buf_str(&err));
	if (r->rc != 0) {
		CHECK(strncmp(r->err, "creds: ", 7) == 0);
		CHECK(!strchr(r->err, '\n'));
	}
	check_no_secret(r->err, at);
	creds_chain_free(c);
	buf_free(&err);
}

static void test_environment(void)
{
	static const struct {
		const char *id, *secret, *token, *exp;
		int rc;
		const char *err;
	} rows[] = {
		{"AKIDENV", SECRET_ENV, NULL, NULL, 0, ""},
		{"AKIDENV", SECRET_ENV, TOKEN_ENV, NULL, 0, ""},
		{"AKIDENV", SECRET_ENV, TOKEN_ENV, "2026-12-03T10:00:00Z", 0, ""},
		{"AKIDENV", NULL, NULL, NULL, -1,
		 "creds: environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"},
		{NULL, SECRET_ENV, TOKEN_ENV, NULL, -1,
		 "creds: environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"},
		{"AKIDENV", "", NULL, NULL, -1,
		 "creds: environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"},
		{"AKIDENV", SECRET_ENV " x", NULL, NULL, -1,
		 "creds: environment: AWS_SECRET_ACCESS_KEY contains spaces or control characters"},
		{"AKIDENV", SECRET_ENV, TOKEN_ENV "\n", NULL, -1,
		 "creds: environment: AWS_SESSION_TOKEN contains spaces or control characters"},
		{"AKIDENV", SECRET_ENV, NULL, "tomorrow", -1,
		 "creds: environment: AWS_CREDENTIAL_EXPIRATION is not an RFC 3339 time"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct env env = {{{"HOME", "/nonexistent"}}};
		struct result r;

		if (rows[i].id)
			env_set(&env, "AWS_ACCESS_KEY_ID", rows[i].id);
		if (rows[i].secret)
			env_set(&env, "AWS_SECRET_ACCESS_KEY", rows[i].secret);
		if (rows[i].token)
			env_set(&env, "AWS_SESSION_TOKEN", rows[i].token);
		if (rows[i].exp)
			env_set(&env, "AWS_CREDENTIAL_EXPIRATION", rows[i].exp);
		run(&env, &r, __LINE__);
		CHECK_INT(r.rc, rows[i].rc);
		CHECK_STR(r.err, rows[i].err);
		if (rows[i].rc == 0) {
			CHECK_STR(r.id, "AKIDENV");
			CHECK_STR(r.secret, SECRET_ENV);
			CHECK_STR(r.token, rows[i].token ? rows[i].token : "");
			CHECK_STR(r.source, "environment");
			CHECK_INT(r.expiration_ms, rows[i].exp ? 1796292000000LL : 0);
		}
	}
}

static const char cred_text[] =
	"# shared credentials\n"
	"; another comment\n"
	"[default]\n"
	"aws_access_key_id = AKIDCREDDEFAULT\n"
	"aws_secret_access_key = " SECRET_CRED "\n"
	"\n"
	"[ prod ]\n"
	"AWS_ACCESS_KEY_ID=AKIDCREDPROD   # inline comment\r\n"
	"  Aws_Secret_Access_Key   =   " SECRET_CRED "\r\n"
	"aws_session_token = " TOKEN_CRED " ; comment\n"
	"[partial]\n"
	"aws_access_key_id = AKIDPARTIAL\n"
	"[assumed]\n"
	"role_arn = arn:aws:iam::123456789012:role/x\n"
	"source_profile = default\n";

static const char conf_text[] =
	"[default]\n"
	"region = eu-west-1\n"
	"s3 =\n"
	"  addressing_style = path\n"
	"  region = not-this-one\n"
	"[profile confonly]\n"
	"region = us-east-2\n"
	"aws_access_key_id = AKIDCONF\n"
	"aws_secret_access_key = " SECRET_CONF "\n"
	"[confonly]\n"
	"region = wrong-section\n"
	"[profile regiononly]\n"
	"region = ap-southeast-2\n"
	"[profile sso]\n"
	"sso_session = corp\n";

static void test_files(void)
{
	char *cred = temp_file(cred_text, 0600), *conf = temp_file(conf_text, 0600);
	char *conf_world = temp_file(conf_text, 0644);
	char *cred_world = temp_file(cred_text, 0644);
	char *cred_group_w = temp_file(cred_text, 0620);
	static const struct {
		int cred, conf; /* 0: the 0600 file, 1: group/world accessible, 2: none */
		const char *profile;
		int rc;
		const char *id, *token, *source;
		const char *err_part;
	} rows[] = {
		{0, 0, NULL, 0, "AKIDCREDDEFAULT", "", "shared-credentials-file", NULL},
		{0, 0, "default", 0, "AKIDCREDDEFAULT", "", "shared-credentials-file", NULL},
		{0, 0, "prod", 0, "AKIDCREDPROD", TOKEN_CRED, "shared-credentials-file", NULL},
		{0, 0, "confonly", 0, "AKIDCONF", "", "shared-config-file", NULL},
		{2, 0, "confonly", 0, "AKIDCONF", "", "shared-config-file", NULL},
		{0, 0, "partial", -1, NULL, NULL, NULL,
		 "creds: shared-credentials-file: profile 'partial' in "},
		{0, 0, "assumed", -1, NULL, NULL, NULL, "uses role_arn, which s3statusd does not support"},
		{0, 0, "sso", -1, NULL, NULL, NULL, "uses sso_session"},
		{0, 0, "nosuch", -1, NULL, NULL, NULL,
		 "creds: shared-config-file: profile 'nosuch' (AWS_PROFILE) not found in "},
		{0, 0, "regiononly", -1, NULL, NULL, NULL,
		 "creds: no credentials found (environment: AWS_ACCESS_KEY_ID and "
		 "AWS_SECRET_ACCESS_KEY not set; shared-credentials-file: no profile 'regiononly' in "},
		/* The credentials file is refused when group/other can touch it. */
		{1, 0, NULL, -1, NULL, NULL, NULL,
		 "is accessible by group or others (mode 0644); refusing"},
		{3, 0, NULL, -1, NULL, NULL, NULL, "(mode 0620)"},
		/* The config file only when the profile's section holds a secret. */
		{0, 1, NULL, 0, "AKIDCREDDEFAULT", "", "shared-credentials-file", NULL},
		{2, 1, "regiononly", -1, NULL, NULL, NULL, "creds: no credentials found ("},
		{2, 1, "confonly", -1, NULL, NULL, NULL,
		 "creds: shared-config-file: /tmp/s3s-test-creds-"},
		{2, 2, NULL, -1, NULL, NULL, NULL, "creds: no credentials found ("},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct env env = {{{"HOME", "/nonexistent"}}};
		const char *cred_paths[] = {cred, cred_world, "/nonexistent/credentials", cred_group_w};
		const char *conf_paths[] = {conf, conf_world, "/nonexistent/config"};
		struct result r;

		env_set(&env, "AWS_SHARED_CREDENTIALS_FILE", cred_paths[rows[i].cred]);
		env_set(&env, "AWS_CONFIG_FILE", conf_paths[rows[i].conf]);
		if (rows[i].profile)
			env_set(&env, "AWS_PROFILE", rows[i].profile);
		run(&env, &r, (int)i);
		CHECK_INT(r.rc, rows[i].rc);
		if (rows[i].rc == 0) {
			CHECK_STR(r.id, rows[i].id);
			CHECK_STR(r.secret, strcmp(rows[i].source, "shared-config-file") == 0
						    ? SECRET_CONF
						    : SECRET_CRED);
			CHECK_STR(r.token, rows[i].token);
			CHECK_STR(r.source, rows[i].source);
			CHECK_INT(r.expiration_ms, 0);
		} else if (!strstr(r.err, rows[i].err_part)) {
			fprintf(stderr, "files row %zu: '%s' lacks '%s'\n", i, r.err, rows[i].err_part);
			CHECK(0);
		}
	}
	remove_file(cred);
	remove_file(conf);
	remove_file(conf_world);
	remove_file(cred_world);
	remove_file(cred_group_w);
}

/* Environment first; files under HOME; "~/" in the path variables. */
static void test_order_and_home(void)
{
	char home[] = "/tmp/s3s-test-home-XXXXXX";
	char *awsdir, *credpath, *confpath, *alt;
	struct env env = {{{NULL}}};
	struct result r;
	int fd;

	if (!mkdtemp(home)) {
		perror("mkdtemp");
		exit(1);
	}
	awsdir = xasprintf("%s/.aws", home);
	credpath = xasprintf("%s/.aws/credentials", home);
	confpath = xasprintf("%s/.aws/config", home);
	alt = xasprintf("%s/alt-credentials", home);
	mkdir(awsdir, 0700);
	fd = open(credpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, cred_text, strlen(cred_text)) == (ssize_t)strlen(cred_text));
	close(fd);
	fd = open(alt, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	{
		static const char alt_text[] =
			"[default]\naws_access_key_id=AKIDALT\naws_secret_access_key=x\n";
		CHECK(fd >= 0 && write(fd, alt_text, strlen(alt_text)) == (ssize_t)strlen(alt_text));
	}
	close(fd);

	env_set(&env, "HOME", home);
	run(&env, &r, __LINE__);
	CHECK_INT(r.rc, 0);
	CHECK_STR(r.id, "AKIDCREDDEFAULT");
	CHECK_STR(r.source, "shared-credentials-file");

	env_set(&env, "AWS_SHARED_CREDENTIALS_FILE", "~/alt-credentials");
	run(&env, &r, __LINE__);
	CHECK_STR(r.id, "AKIDALT");

	env_set(&env, "AWS_ACCESS_KEY_ID", "AKIDENV");
	env_set(&env, "AWS_SECRET_ACCESS_KEY", SECRET_ENV);
	run(&env, &r, __LINE__);
	CHECK_INT(r.rc, 0);
	CHECK_STR(r.id, "AKIDENV");
	CHECK_STR(r.source, "environment");

	/* No HOME and no path variables: nothing found, said plainly. */
	{
		struct env bare = {{{NULL}}};
		run(&bare, &r, __LINE__);
		CHECK_INT(r.rc, -1);
		CHECK_STR(r.err, "creds: no credentials found (environment: AWS_ACCESS_KEY_ID and "
				 "AWS_SECRET_ACCESS_KEY not set; shared-credentials-file: HOME and "
				 "AWS_SHARED_CREDENTIALS_FILE not set; shared-config-file: HOME and "
				 "AWS_CONFIG_FILE not set)");
	}
	/* An unreadable path (a directory) is refused, not skipped. */
	{
		struct env dir = {{{"AWS_SHARED_CREDENTIALS_FILE", "/tmp"}}};
		run(&dir, &r, __LINE__);
		CHECK_INT(r.rc, -1);
		CHECK_STR(r.err, "creds: shared-credentials-file: cannot read /tmp: Is a directory");
	}
	unlink(credpath);
	unlink(confpath);
	unlink(alt);
	rmdir(awsdir);
	rmdir(home);
	free(awsdir);
	free(credpath);
	free(confpath);
	free(alt);
}

/* A failed reload keeps the credentials that worked. */
static void test_reload_keeps_current(void)
{
	struct env env = {{{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", SECRET_ENV}}};
	struct creds_env ce = {env_lookup, &env};
	struct creds_chain *c = creds_chain_new(&ce);
	struct buf err;

	buf_init(&err, 0);
	CHECK_INT(creds_chain_load(c, &err), 0);
	env.kv[1][1] = "";
	CHECK_INT(creds_chain_load(c, &err), -1);
	check_no_secret(buf_str(&err), __LINE__);
	CHECK(creds_chain_current(c) != NULL);
	CHECK_STR(creds_chain_current(c)->secret_access_key, SECRET_ENV);
	creds_chain_free(c);
	creds_chain_free(NULL);
	CHECK(creds_chain_current(NULL) == NULL);
	buf_free(&err);
}

static void test_profile_value(void)
{
	char *conf = temp_file(conf_text, 0644);
	static const struct {
		const char *profile, *key, *expect;
	} rows[] = {
		{NULL, "region", "eu-west-1"},
		{"default", "REGION", "eu-west-1"},
		{"confonly", "region", "us-east-2"},
		{"regiononly", "region", "ap-southeast-2"},
		{"sso", "region", NULL},
		{"missing", "region", NULL},
		{NULL, "addressing_style", NULL},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct env env = {{{"AWS_CONFIG_FILE", conf}}};
		struct creds_env ce = {env_lookup, &env};
		char *v;

		if (rows[i].profile)
			env_set(&env, "AWS_PROFILE", rows[i].profile);
		CHECK_STR(aws_profile_name(&ce), rows[i].profile ? rows[i].profile : "default");
		v = aws_profile_config_value(&ce, rows[i].key);
		if (rows[i].expect)
			CHECK_STR(v, rows[i].expect);
		else
			CHECK(v == NULL);
		free(v);
	}
	remove_file(conf);
}

static void test_clear(void)
{
	struct aws_creds c = {xstrdup("a"), xstrdup("b"), xstrdup("c"), 5, "x"};

	aws_creds_clear(&c);
	CHECK(c.access_key_id == NULL && c.secret_access_key == NULL && c.session_token == NULL);
	CHECK(c.expiration_ms == 0 && c.source == NULL);
	aws_creds_clear(&c);
	aws_creds_clear(NULL);
}

/* creds_chain_load() runs the synchronous providers only: the HTTP sources
 * (web identity, container, instance metadata) need creds_chain_start(). */
static void test_sync_load_skips_http_sources(void)
{
	struct env env = {{{"HOME", "/nonexistent"},
			   {"AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"},
			   {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
			   {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds"},
			   {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9"}}};
	struct creds_env ce = {env_lookup, &env};
	struct result r;

	run(&env, &r, __LINE__);
	CHECK_INT(r.rc, -1);
	CHECK_STR(r.err, "creds: no credentials found (environment: AWS_ACCESS_KEY_ID and "
			 "AWS_SECRET_ACCESS_KEY not set; shared-credentials-file: no file "
			 "/nonexistent/.aws/credentials; shared-config-file: no file "
			 "/nonexistent/.aws/config)");
	/* Empty variables count as unset. */
	env_set(&env, "AWS_PROFILE", "");
	CHECK(creds_getenv(&ce, "AWS_PROFILE") == NULL);
	CHECK_STR(creds_getenv(&ce, "AWS_ROLE_ARN"), "arn:aws:iam::1:role/r");
	CHECK(creds_getenv(&ce, "AWS_NOT_SET") == NULL);
}

int main(void)
{
	test_environment();
	test_files();
	test_order_and_home();
	test_reload_keeps_current();
	test_profile_value();
	test_clear();
	test_sync_load_skips_http_sources();
	return check_done("test_creds");
}
