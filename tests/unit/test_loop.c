/* test_loop.c - the event loop: timer order, re-arm, cancel and free from
 * callbacks, 0 ms timers, deferred calls, fd watches, signals, the clock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "check.h"
#include "loop.h"
#include "util.h"

/* A watchdog so that a broken loop fails the test instead of hanging it. */
static bool watchdog_fired;

static void on_watchdog(struct loop *l, void *arg)
{
	(void)arg;
	watchdog_fired = true;
	loop_stop(l);
}

static void run(struct loop *l, int64_t max_ms)
{
	struct loop_timer *wd = loop_timer_new(l, on_watchdog, NULL);

	watchdog_fired = false;
	loop_timer_arm(wd, max_ms);
	CHECK_INT(loop_run(l), 0);
	CHECK(!watchdog_fired);
	loop_timer_free(wd);
}

/* Turns counted by the idle callback. */
static int turns;

static void count_turn(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	turns++;
}

/* ---- timers fire in deadline order ---- */

static char order[32];
static size_t norder;

struct tag {
	char c;
	bool stop;
};

static void record(struct loop *l, void *arg)
{
	const struct tag *t = arg;

	if (norder < sizeof(order) - 1)
		order[norder++] = t->c;
	order[norder] = '\0';
	if (t->stop)
		loop_stop(l);
}

static void test_timer_order(void)
{
	struct loop *l = loop_new();
	struct tag a = {'a', true}, b = {'b', false}, c = {'c', false}, d = {'d', false};
	struct loop_timer *ta = loop_timer_new(l, record, &a);
	struct loop_timer *tb = loop_timer_new(l, record, &b);
	struct loop_timer *tc = loop_timer_new(l, record, &c);
	struct loop_timer *td = loop_timer_new(l, record, &d);
	int64_t start = loop_now(l);

	norder = 0;
	loop_timer_arm(ta, 60);
	loop_timer_arm(tb, 20);
	loop_timer_arm(tc, 40);
	loop_timer_arm(td, 20); /* same deadline as b (same clock reading or later) */
	CHECK(loop_timer_armed(ta));
	run(l, 5000);
	CHECK_STR(order, "bdca");
	CHECK(loop_now(l) - start >= 60);
	CHECK(!loop_timer_armed(ta) && !loop_timer_armed(tb));
	loop_timer_free(ta);
	loop_timer_free(tb);
	loop_timer_free(tc);
	loop_timer_free(td);
	loop_free(l);
}

/* ---- re-arm: an armed timer moves, a periodic timer re-arms itself ---- */

static int periodic_count;
static struct loop_timer *periodic;

static void on_periodic(struct loop *l, void *arg)
{
	(void)arg;
	if (++periodic_count == 3)
		loop_stop(l);
	else
		loop_timer_arm(periodic, 5);
}

static void test_timer_rearm(void)
{
	struct loop *l = loop_new();
	struct tag a = {'a', true}, b = {'b', false};
	struct loop_timer *ta = loop_timer_new(l, record, &a);
	struct loop_timer *tb = loop_timer_new(l, record, &b);
	int64_t start = loop_now(l);

	norder = 0;
	loop_timer_arm(ta, 100000); /* moved earlier below */
	loop_timer_arm(tb, 10);
	loop_timer_arm(ta, 30);
	loop_timer_arm(tb, 20); /* moved later, still before a */
	run(l, 5000);
	CHECK_STR(order, "ba");
	CHECK(loop_now(l) - start < 5000);

	periodic = loop_timer_new(l, on_periodic, NULL);
	periodic_count = 0;
	loop_timer_arm(periodic, 5);
	run(l, 5000);
	CHECK_INT(periodic_count, 3);
	CHECK(!loop_timer_armed(periodic));

	loop_timer_free(periodic);
	loop_timer_free(ta);
	loop_timer_free(tb);
	loop_free(l);
}

/* ---- cancel, and free from inside callbacks ---- */

static struct loop_timer *victims[3];
static int fired[3];

static void on_killer(struct loop *l, void *arg)
{
	struct loop_timer **self = arg;

	(void)l;
	/* Free itself and a timer that expired in the same turn. */
	loop_timer_free(*self);
	*self = NULL;
	loop_timer_free(victims[1]);
	victims[1] = NULL;
	loop_timer_cancel(victims[2]);
}

static void on_victim(struct loop *l, void *arg)
{
	int i = (int)(intptr_t)arg;

	fired[i]++;
	if (i == 0)
		loop_stop(l);
}

static void test_timer_cancel_free(void)
{
	struct loop *l = loop_new();
	struct loop_timer *killer;
	int i;

	memset(fired, 0, sizeof(fired));
	for (i = 0; i < 3; i++)
		victims[i] = loop_timer_new(l, on_victim, (void *)(intptr_t)i);
	killer = loop_timer_new(l, on_killer, &killer);

	loop_timer_arm(victims[2], 5);
	loop_timer_cancel(victims[2]);
	CHECK(!loop_timer_armed(victims[2]));
	loop_timer_cancel(victims[2]); /* twice is fine */

	loop_timer_arm(killer, 10);
	loop_timer_arm(victims[1], 10); /* expires with killer, after it */
	loop_timer_arm(victims[2], 10);
	loop_timer_arm(victims[0], 40);
	run(l, 5000);
	CHECK(killer == NULL);
	CHECK_INT(fired[0], 1);
	CHECK_INT(fired[1], 0);
	CHECK_INT(fired[2], 0);
	CHECK(!loop_timer_armed(victims[2]));

	loop_timer_free(victims[0]);
	loop_timer_free(victims[2]);
	loop_timer_free(NULL);
	loop_free(l);
}

/* ---- a 0 ms timer fires on the next turn, never recursively ---- */

static struct loop_timer *zero;
static int zero_turns[8];
static int zero_count;

static void on_zero(struct loop *l, void *arg)
{
	(void)arg;
	zero_turns[zero_count++] = turns;
	if (zero_count == 5)
		loop_stop(l);
	else
		loop_timer_arm(zero, 0);
}

static void test_timer_zero(void)
{
	struct loop *l = loop_new();
	int i;

	turns = 0;
	zero_count = 0;
	loop_set_idle(l, count_turn, NULL);
	zero = loop_timer_new(l, on_zero, NULL);
	loop_timer_arm(zero, 0);
	run(l, 5000);
	CHECK_INT(zero_count, 5);
	for (i = 1; i < zero_count; i++)
		CHECK_INT(zero_turns[i], zero_turns[i - 1] + 1); /* one per turn */
	loop_timer_free(zero);
	loop_set_idle(l, NULL, NULL);
	loop_free(l);
}

/* ---- deferred calls: FIFO, and those queued while running wait a turn ---- */

static char defer_log[64];
static size_t ndefer;

static void on_defer(struct loop *l, void *arg)
{
	const char *s = arg;

	if (ndefer + 3 < sizeof(defer_log)) {
		defer_log[ndefer++] = s[0];
		defer_log[ndefer++] = (char)('0' + turns);
		defer_log[ndefer] = '\0';
	}
	if (s[0] == 'a')
		loop_defer(l, on_defer, "d"); /* next turn, after b and c */
	if (s[0] == 'd')
		loop_stop(l);
}

static void test_defer(void)
{
	struct loop *l = loop_new();

	turns = 0;
	ndefer = 0;
	loop_set_idle(l, count_turn, NULL);
	loop_defer(l, on_defer, "a");
	loop_defer(l, on_defer, "b");
	loop_defer(l, on_defer, "c");
	run(l, 5000);
	CHECK_STR(defer_log, "a0b0c0d1");

	/* Dropped without running when the loop is freed. */
	loop_defer(l, on_defer, "x");
	loop_free(l);
}

/* ---- fd watches ---- */

static int pipe_cb_count;
static char pipe_got;

static void on_pipe(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)arg;
	pipe_cb_count++;
	CHECK(events & EPOLLIN);
	CHECK_INT(read(fd, &pipe_got, 1), 1);
	loop_stop(l);
}

static void test_fd_watch(void)
{
	struct loop *l = loop_new();
	int p[2];

	CHECK_INT(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	pipe_cb_count = 0;
	CHECK_INT(loop_fd_watch(l, p[0], EPOLLIN, on_pipe, NULL), 0);
	CHECK_INT(write(p[1], "x", 1), 1);
	run(l, 5000);
	CHECK_INT(pipe_cb_count, 1);
	CHECK(pipe_got == 'x');

	/* Re-watching replaces; unwatching twice is fine; bad fds fail. */
	CHECK_INT(loop_fd_watch(l, p[0], EPOLLIN, on_pipe, NULL), 0);
	loop_fd_unwatch(l, p[0]);
	loop_fd_unwatch(l, p[0]);
	CHECK_INT(loop_fd_watch(l, -1, EPOLLIN, on_pipe, NULL), -1);
	CHECK_INT(loop_fd_watch(l, 100000, EPOLLIN, on_pipe, NULL), -1);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* Two readable pipes in one epoll batch: whichever callback runs first
 * unwatches and closes both, and watches a new pipe that probably reuses the
 * fd numbers; the stale event of the other must not be delivered. */
static int pa[2], pb[2], pc[2];
static int closer_count, fresh_count;

static void on_fresh(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	(void)arg;
	fresh_count++;
}

static void on_closer(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	closer_count++;
	loop_fd_unwatch(l, pa[0]);
	loop_fd_unwatch(l, pb[0]);
	close(pa[0]);
	close(pb[0]);
	CHECK_INT(pipe2(pc, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_INT(loop_fd_watch(l, pc[0], EPOLLIN, on_fresh, NULL), 0);
}

static void on_settle(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

static void test_fd_unwatch_in_callback(void)
{
	struct loop *l = loop_new();
	struct loop_timer *settle = loop_timer_new(l, on_settle, NULL);

	CHECK_INT(pipe2(pa, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_INT(pipe2(pb, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_INT(write(pa[1], "a", 1), 1);
	CHECK_INT(write(pb[1], "b", 1), 1);
	CHECK_INT(loop_fd_watch(l, pa[0], EPOLLIN, on_closer, NULL), 0);
	CHECK_INT(loop_fd_watch(l, pb[0], EPOLLIN, on_closer, NULL), 0);
	closer_count = fresh_count = 0;
	loop_timer_arm(settle, 50);
	run(l, 5000);
	CHECK_INT(closer_count, 1);
	CHECK_INT(fresh_count, 0);
	loop_fd_unwatch(l, pc[0]);
	close(pa[1]);
	close(pb[1]);
	close(pc[0]);
	close(pc[1]);
	loop_timer_free(settle);
	loop_free(l);
}

/* An fd callback that unwatches and closes its own fd while the write end
 * stays open: the loop must not call it again. */
static int self_count;

static void on_self_close(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)events;
	(void)arg;
	self_count++;
	loop_fd_unwatch(l, fd);
	close(fd);
}

static void test_fd_close_self(void)
{
	struct loop *l = loop_new();
	struct loop_timer *settle = loop_timer_new(l, on_settle, NULL);
	int p[2];

	CHECK_INT(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_INT(write(p[1], "z", 1), 1);
	CHECK_INT(loop_fd_watch(l, p[0], EPOLLIN, on_self_close, NULL), 0);
	self_count = 0;
	loop_timer_arm(settle, 30);
	run(l, 5000);
	CHECK_INT(self_count, 1);
	close(p[1]);
	loop_timer_free(settle);
	loop_free(l);
}

/* ---- signals through signalfd ---- */

static int sig_seen;

static void on_signal(struct loop *l, int signo, void *arg)
{
	(void)arg;
	sig_seen = signo;
	loop_stop(l);
}

static void raise_usr1(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	raise(SIGUSR1);
}

static void test_signal(void)
{
	struct loop *l = loop_new();
	sigset_t blocked;

	sig_seen = 0;
	CHECK_INT(loop_signal(l, SIGUSR1, on_signal, NULL), 0);
	CHECK_INT(loop_signal(l, SIGUSR2, on_signal, NULL), 0); /* updates the signalfd */
	CHECK_INT(loop_signal(l, 0, on_signal, NULL), -1);
	CHECK_INT(sigprocmask(SIG_BLOCK, NULL, &blocked), 0);
	CHECK(sigismember(&blocked, SIGUSR1) == 1);
	loop_defer(l, raise_usr1, NULL);
	run(l, 5000);
	CHECK_INT(sig_seen, SIGUSR1);
	loop_free(l);
}

/* ---- an injectable clock ---- */

static int64_t fake_ms = 1000000;

static int64_t fake_clock(void *ctx)
{
	CHECK(ctx == &fake_ms);
	return fake_ms;
}

static struct loop_timer *ticker;
static int64_t fired_at;
static bool now_stable = true;

static void on_tick(struct loop *l, void *arg)
{
	(void)arg;
	loop_timer_arm(ticker, 0); /* keeps the loop turning without blocking */
	now_stable &= loop_now(l) == fake_ms;
}

static void advance(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	fake_ms += 250000;
}

static void on_far(struct loop *l, void *arg)
{
	(void)arg;
	fired_at = loop_now(l);
	loop_stop(l);
}

static void test_clock(void)
{
	struct loop *l = loop_new();
	struct loop_timer *far = loop_timer_new(l, on_far, NULL);
	int64_t t0;

	loop_set_clock(l, fake_clock, &fake_ms);
	CHECK_INT(loop_now(l), 1000000);
	t0 = loop_now(l);
	ticker = loop_timer_new(l, on_tick, NULL);
	loop_timer_arm(ticker, 0);
	loop_timer_arm(far, 1000000); /* 1000 s of fake time */
	loop_set_idle(l, advance, NULL);
	run(l, 2000000); /* the watchdog runs on the fake clock too */
	CHECK(fired_at >= t0 + 1000000);
	CHECK(fired_at < t0 + 1000000 + 250000 + 1);
	CHECK(now_stable);

	loop_set_idle(l, NULL, NULL);
	loop_set_clock(l, NULL, NULL);
	CHECK(llabs(loop_now(l) - clock_mono_ms()) < 1000);
	loop_timer_free(ticker);
	loop_free(l);
	loop_timer_free(far); /* after loop_free is fine (it was disarmed) */
}

/* ---- loop_stop before loop_run: one turn, then return ---- */

static void test_stop_early(void)
{
	struct loop *l = loop_new();

	turns = 0;
	loop_set_idle(l, count_turn, NULL);
	loop_stop(l);
	CHECK_INT(loop_run(l), 0);
	CHECK_INT(turns, 1);
	loop_free(l);
	loop_free(NULL);
}

int main(void)
{
	test_timer_order();
	test_timer_rearm();
	test_timer_cancel_free();
	test_timer_zero();
	test_defer();
	test_fd_watch();
	test_fd_unwatch_in_callback();
	test_fd_close_self();
	test_signal();
	test_clock();
	test_stop_early();
	return check_done("test_loop");
}
