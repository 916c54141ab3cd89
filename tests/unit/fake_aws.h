/* fake_aws.h - the unit tests' handle on tests/fake_aws/serve.py: the fake
 * IMDSv2, ECS and STS servers run in a Python child process, driven by
 * one-line commands on its stdin (see serve.py). */
#ifndef S3S_TEST_FAKE_AWS_H
#define S3S_TEST_FAKE_AWS_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

struct fake_aws {
	pid_t pid;
	FILE *in;			 /* commands to the child */
	FILE *out;			 /* its answers */
	char imds[64], ecs[64], sts[64]; /* base URLs */
	char line[65536];
};

static inline void fake_die(const char *what)
{
	perror(what);
	exit(2);
}

/* Start serve.py with the three fakes; exits the test on failure. */
static inline void fake_start(struct fake_aws *f)
{
	const char *src = getenv("S3S_SOURCE_DIR");
	char *script;
	int to_child[2], from_child[2];

	memset(f, 0, sizeof(*f));
	script = xasprintf("%s/tests/fake_aws/serve.py", src ? src : ".");
	if (pipe(to_child) != 0 || pipe(from_child) != 0)
		fake_die("pipe");
	f->pid = fork();
	if (f->pid < 0)
		fake_die("fork");
	if (f->pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl("/usr/bin/python3", "python3", "-u", script, "imds", "ecs", "sts",
		      (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	f->in = fdopen(to_child[1], "w");
	f->out = fdopen(from_child[0], "r");
	free(script);
	for (;;) {
		char name[16], url[64];

		if (!fgets(f->line, sizeof(f->line), f->out))
			fake_die("serve.py did not start");
		if (strncmp(f->line, "ready", 5) == 0)
			break;
		if (sscanf(f->line, "%15s %63s", name, url) != 2)
			continue;
		if (strcmp(name, "imds") == 0)
			snprintf(f->imds, sizeof(f->imds), "%s", url);
		else if (strcmp(name, "ecs") == 0)
			snprintf(f->ecs, sizeof(f->ecs), "%s", url);
		else if (strcmp(name, "sts") == 0)
			snprintf(f->sts, sizeof(f->sts), "%s", url);
	}
}

/* Send one command; returns its one-line answer (valid until the next call). */
static inline const char *fake_cmd(struct fake_aws *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline const char *fake_cmd(struct fake_aws *f, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vfprintf(f->in, fmt, ap);
	va_end(ap);
	fputc('\n', f->in);
	fflush(f->in);
	if (!fgets(f->line, sizeof(f->line), f->out))
		fake_die("serve.py went away");
	n = strlen(f->line);
	while (n > 0 && (f->line[n - 1] == '\n' || f->line[n - 1] == '\r'))
		f->line[--n] = '\0';
	if (strncmp(f->line, "error", 5) == 0)
		fprintf(stderr, "fake_aws: %s\n", f->line);
	return f->line;
}

static inline long fake_count(struct fake_aws *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline long fake_count(struct fake_aws *f, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return strtol(fake_cmd(f, "%s", cmd), NULL, 10);
}

static inline void fake_stop(struct fake_aws *f)
{
	int status;

	if (!f->pid)
		return;
	fputs("quit\n", f->in);
	fclose(f->in);
	fclose(f->out);
	if (waitpid(f->pid, &status, 0) < 0)
		kill(f->pid, SIGKILL);
	f->pid = 0;
}

#endif
