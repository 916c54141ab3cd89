/* test_metrics.c - labeled counters (bounded, sanitised), histogram bucket
 * edges, the text format, and the atomic file write. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"
#include "pipeline.h"

static void test_labeled(void)
{
	struct metrics_labeled c = {0};
	char v[16];
	char longv[200];
	int i;

	metrics_labeled_inc(&c, "SlowDown");
	metrics_labeled_inc(&c, "SlowDown");
	metrics_labeled_inc(&c, NULL);
	metrics_labeled_inc(&c, "");
	metrics_labeled_inc(&c, "a\"b\\c\nd{e}");
	CHECK_INT(c.n, 3);
	CHECK_STR(c.value[0], "SlowDown");
	CHECK_INT(c.count[0], 2);
	CHECK_STR(c.value[1], "unknown");
	CHECK_INT(c.count[1], 2);
	CHECK_STR(c.value[2], "a_b_c_d_e_"); /* nothing that needs escaping in the file */
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	metrics_labeled_inc(&c, longv);
	CHECK_INT(strlen(c.value[3]), METRICS_LABEL_MAX - 1);
	/* A peer inventing codes cannot grow the set past its bound. */
	for (i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "Code%d", i);
		metrics_labeled_inc(&c, v);
	}
	CHECK_INT(c.n, METRICS_LABEL_VALUES);
	CHECK_INT(c.other, 100 - (METRICS_LABEL_VALUES - 4));
	metrics_labeled_inc(&c, "SlowDown"); /* known values still count as themselves */
	CHECK_INT(c.count[0], 3);
}

static void test_histogram(void)
{
	struct metrics_histogram hg = {0};

	metrics_histogram_observe_ms(&hg, -5);    /* clock step: 0 */
	metrics_histogram_observe_ms(&hg, 50);    /* on the bound: in le=0.05 */
	metrics_histogram_observe_ms(&hg, 51);    /* le=0.1 */
	metrics_histogram_observe_ms(&hg, 60000); /* le=60 */
	metrics_histogram_observe_ms(&hg, 60001); /* only +Inf */
	CHECK_INT(hg.bucket[0], 2);
	CHECK_INT(hg.bucket[1], 1);
	CHECK_INT(hg.bucket[METRICS_BUCKETS - 1], 1);
	CHECK_INT(hg.count, 5);
	CHECK_INT(hg.sum_ms, 50 + 51 + 60000 + 60001);
}

static void test_format_and_write(void)
{
	struct pipeline_stats st;
	char dir[] = "/tmp/s3s-metrics-XXXXXX";
	char path[64], tmp[80];
	struct metrics *m;
	struct buf b;
	struct stat sb;
	char text[8192];
	ssize_t n;
	int fd;
	mode_t old;

	memset(&st, 0, sizeof(st));
	st.received = 7;
	st.inflight = 2;
	metrics_labeled_inc(&st.dead_lettered_by_reason, "InvalidJSON");
	metrics_histogram_observe_ms(&st.receive_to_delete, 1234);
	m = metrics_new(NULL);
	buf_init(&b, 0);
	metrics_format(m, &st, &b);
	CHECK(strstr(buf_str(&b), "# TYPE s3statusd_messages_received_total counter\n"
				  "s3statusd_messages_received_total 7\n") != NULL);
	CHECK(strstr(buf_str(&b), "s3statusd_messages_dead_lettered_total{reason=\"InvalidJSON\"} 1\n"));
	CHECK(strstr(buf_str(&b), "s3statusd_messages_inflight 2\n"));
	CHECK(strstr(buf_str(&b), "s3statusd_receive_to_delete_seconds_bucket{le=\"1\"} 0\n"));
	CHECK(strstr(buf_str(&b), "s3statusd_receive_to_delete_seconds_bucket{le=\"2.5\"} 1\n"));
	CHECK(strstr(buf_str(&b), "s3statusd_receive_to_delete_seconds_sum 1.234\n"));
	CHECK(strstr(buf_str(&b), "s3statusd_receive_to_delete_seconds_count 1\n"));
	CHECK_INT(metrics_write(m, &st), 0); /* no path: nothing, fine */

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	metrics_set_path(m, path);
	old = umask(077);
	CHECK_INT(metrics_write(m, &st), 0);
	umask(old);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644);
	CHECK(access(tmp, F_OK) != 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	CHECK(n == (ssize_t)b.len && memcmp(text, b.data, b.len) == 0);
	/* A symlink planted at the temporary name is not followed. */
	CHECK(symlink("/tmp/s3s-metrics-elsewhere", tmp) == 0);
	CHECK_INT(metrics_write(m, &st), -1);
	CHECK(access("/tmp/s3s-metrics-elsewhere", F_OK) != 0);
	unlink(tmp);
	CHECK_INT(metrics_write(m, &st), 0); /* and it recovers */
	unlink(path);
	rmdir(dir);
	buf_free(&b);
	metrics_free(m);
	metrics_free(NULL);
}

int main(void)
{
	test_labeled();
	test_histogram();
	test_format_and_write();
	return check_done("test_metrics");
}
