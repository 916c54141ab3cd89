/* log.c - leveled logging to stderr: "<N>" priority prefixes that journald
 * understands, or one JSON object per line for log shippers. */
#include "log.h"

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static enum log_level g_level = LOG_LVL_INFO;
static enum log_format g_format = LOG_FMT_TEXT;
static int g_journal = -1; /* is stderr the journal? decided on first use */

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning", [LOG_LVL_NOTICE] = "notice",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

void log_setup(enum log_level level, enum log_format fmt)
{
	g_level = level;
	g_format = fmt;
}

/* systemd sets JOURNAL_STREAM=dev:ino when stderr is connected to the
 * journal: then "<N>" prefixes carry the priority; elsewhere a timestamp and
 * the level name read better. */
static bool stderr_is_journal(void)
{
	const char *js;
	struct stat st;
	unsigned long long dev, ino;

	if (g_journal >= 0)
		return g_journal;
	g_journal = 0;
	js = getenv("JOURNAL_STREAM");
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		g_journal = 1;
	return g_journal;
}

enum log_level log_get_level(void)
{
	return g_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level lvl;
	} names[] = {{"error", LOG_LVL_ERR}, {"warn", LOG_LVL_WARN}, {"warning", LOG_LVL_WARN},
		     {"notice", LOG_LVL_NOTICE}, {"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG}};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].lvl;
			return 0;
		}
	}
	return -1;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	struct buf msg, line;
	va_list ap;
	char ts[TIME_ISO_LEN];
	size_t i;

	if (lvl > g_level)
		return;
	buf_init(&msg, 64 * 1024);
	buf_init(&line, 128 * 1024);
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	/* One event, one line: control bytes (newlines could forge log lines,
	 * ESC could drive a terminal) become spaces. */
	for (i = 0; i < msg.len; i++)
		if ((unsigned char)msg.data[i] < 0x20 || msg.data[i] == 0x7f)
			msg.data[i] = ' ';
	if (g_format == LOG_FMT_JSON) {
		time_fmt_iso(clock_wall_ms(), ts);
		buf_addf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"priority\":%d,\"message\":", ts,
			 level_names[lvl], (int)lvl);
		/* Always valid JSON, even for invalid UTF-8 from a peer. */
		json_write_string(&line, msg.data ? msg.data : "", msg.len);
		buf_adds(&line, "}\n");
	} else if (stderr_is_journal()) {
		buf_addf(&line, "<%d>%s\n", (int)lvl, buf_str(&msg));
	} else {
		time_fmt_iso(clock_wall_ms(), ts);
		buf_addf(&line, "%s %s: %s\n", ts, level_names[lvl], buf_str(&msg));
	}
	(void)!write(STDERR_FILENO, line.data, line.len);
	buf_free(&msg);
	buf_free(&line);
}
