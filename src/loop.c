/* loop.c - the event loop: epoll for fds, a single timerfd behind a binary
 * min-heap of timers, signalfd for signals, a deferred-call queue. */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LOOP_MAX_EVENTS 64
/* A turn with this many events already served a batch: no pause after it. */
#define LOOP_BATCH_ENOUGH 8
#define LOOP_NSIG 65 /* signals 1..64 on Linux */
#define NOT_ARMED SIZE_MAX

/* One slot per fd number. epoll carries (generation << 32 | fd), so an event
 * fetched before its fd was unwatched (or re-watched as a new file) is
 * recognised as stale and dropped: no pointer into freed memory is needed. */
struct fd_watch {
	loop_fd_cb cb; /* NULL: slot unused */
	void *arg;
	uint32_t events;
	uint32_t gen;
};

struct loop_timer {
	struct loop *l;
	loop_cb cb;
	void *arg;
	int64_t deadline;
	uint64_t seq; /* arming order: breaks deadline ties, holds back timers armed this turn */
	size_t idx;   /* position in l->heap, NOT_ARMED when not armed */
};

struct deferred {
	loop_cb cb;
	void *arg;
	struct deferred *next;
};

struct sig_handler {
	loop_signal_cb cb;
	void *arg;
};

struct loop {
	int epfd;
	int tfd;
	int sfd;

	struct fd_watch *watches; /* indexed by fd */
	size_t nwatches;
	uint32_t gen;

	struct loop_timer **heap;
	size_t nheap;
	size_t heapcap;
	uint64_t seq;
	int64_t tfd_deadline; /* deadline the timerfd is programmed for */
	bool tfd_armed;

	struct deferred *defer_head;
	struct deferred *defer_tail;

	sigset_t sigmask;
	struct sig_handler sigs[LOOP_NSIG];

	int64_t (*clock)(void *ctx);
	void *clock_ctx;
	int64_t now;

	loop_cb idle_cb;
	void *idle_arg;

	int64_t batch_us;
	bool (*batch_busy)(void *ctx);
	void *batch_ctx;

	bool running;
	bool stop;
};

static int64_t default_clock(void *ctx)
{
	(void)ctx;
	return clock_mono_ms();
}

static uint64_t watch_key(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

/* ---- timers: binary min-heap on (deadline, seq) ---- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->idx = i;
}

static void heap_up(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(t, l->heap[parent]))
			break;
		heap_place(l, i, l->heap[parent]);
		i = parent;
	}
	heap_place(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && timer_before(l->heap[c + 1], l->heap[c]))
			c++;
		if (!timer_before(l->heap[c], t))
			break;
		heap_place(l, i, l->heap[c]);
		i = c;
	}
	heap_place(l, i, t);
}

static void heap_push(struct loop *l, struct loop_timer *t)
{
	if (l->nheap == l->heapcap) {
		l->heapcap = l->heapcap ? 2 * l->heapcap : 16;
		l->heap = xrealloc(l->heap, l->heapcap * sizeof(*l->heap));
	}
	heap_place(l, l->nheap++, t);
	heap_up(l, t->idx);
}

static void heap_remove(struct loop *l, struct loop_timer *t)
{
	size_t i = t->idx;
	struct loop_timer *last = l->heap[--l->nheap];

	t->idx = NOT_ARMED;
	if (i == l->nheap)
		return;
	heap_place(l, i, last);
	if (i > 0 && timer_before(last, l->heap[(i - 1) / 2]))
		heap_up(l, i);
	else
		heap_down(l, i);
}

struct loop_timer *loop_timer_new(struct loop *l, loop_cb cb, void *arg)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));

	t->l = l;
	t->cb = cb;
	t->arg = arg;
	t->idx = NOT_ARMED;
	return t;
}

void loop_timer_arm(struct loop_timer *t, int64_t delay_ms)
{
	struct loop *l = t->l;
	int64_t now = loop_now(l);

	if (t->idx != NOT_ARMED)
		heap_remove(l, t);
	if (delay_ms < 0)
		delay_ms = 0;
	t->deadline = delay_ms > INT64_MAX - now ? INT64_MAX : now + delay_ms;
	t->seq = ++l->seq;
	heap_push(l, t);
}

void loop_timer_cancel(struct loop_timer *t)
{
	if (t && t->idx != NOT_ARMED)
		heap_remove(t->l, t);
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t->idx != NOT_ARMED;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	loop_timer_cancel(t);
	free(t);
}

/* ---- file descriptors ---- */

static void watches_grow(struct loop *l, int fd)
{
	size_t n = l->nwatches ? l->nwatches : 64;

	if ((size_t)fd < l->nwatches)
		return;
	while (n <= (size_t)fd)
		n *= 2;
	l->watches = xrealloc(l->watches, n * sizeof(*l->watches));
	memset(l->watches + l->nwatches, 0, (n - l->nwatches) * sizeof(*l->watches));
	l->nwatches = n;
}

int loop_fd_watch(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev;
	struct fd_watch *w;
	uint32_t gen;

	if (fd < 0 || !cb) {
		errno = EINVAL;
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	if ((size_t)fd < l->nwatches && l->watches[fd].cb) {
		w = &l->watches[fd];
		ev.data.u64 = watch_key(fd, w->gen);
		if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
			goto done;
		/* ENOENT: the old file was closed without an unwatch; start afresh. */
		if (errno != ENOENT)
			goto fail;
	}
	gen = ++l->gen;
	if (gen == 0)
		gen = ++l->gen;
	ev.data.u64 = watch_key(fd, gen);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	watches_grow(l, fd);
	w = &l->watches[fd];
	w->gen = gen;
done:
	w->cb = cb;
	w->arg = arg;
	w->events = events;
	return 0;
fail:
	return -1;
}

void loop_fd_unwatch(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nwatches || !l->watches[fd].cb)
		return;
	/* Errors (the fd was closed already) leave nothing registered to undo. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&l->watches[fd], 0, sizeof(l->watches[fd]));
}

static void dispatch(struct loop *l, const struct epoll_event *ev, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		int fd = (int)(uint32_t)ev[i].data.u64;
		uint32_t gen = (uint32_t)(ev[i].data.u64 >> 32);
		struct fd_watch *w;
		uint32_t events;

		if ((size_t)fd >= l->nwatches)
			continue;
		w = &l->watches[fd];
		if (!w->cb || w->gen != gen)
			continue; /* unwatched (or replaced) since epoll_wait */
		events = ev[i].events & (w->events | EPOLLERR | EPOLLHUP);
		if (events)
			w->cb(l, fd, events, w->arg); /* w may move: not used after */
	}
}

/* ---- deferred calls, timers, signals ---- */

void loop_defer(struct loop *l, loop_cb cb, void *arg)
{
	struct deferred *d = xmalloc(sizeof(*d));

	d->cb = cb;
	d->arg = arg;
	d->next = NULL;
	if (l->defer_tail)
		l->defer_tail->next = d;
	else
		l->defer_head = d;
	l->defer_tail = d;
}

static void run_deferred(struct loop *l)
{
	struct deferred *d = l->defer_head;

	/* Calls queued from here on belong to the next turn. */
	l->defer_head = l->defer_tail = NULL;
	while (d) {
		struct deferred *next = d->next;
		loop_cb cb = d->cb;
		void *arg = d->arg;

		free(d);
		cb(l, arg);
		d = next;
	}
}

static void run_timers(struct loop *l, uint64_t armed_before)
{
	while (l->nheap > 0) {
		struct loop_timer *t = l->heap[0];

		if (t->deadline > l->now || t->seq > armed_before)
			break;
		heap_remove(l, t);
		t->cb(l, t->arg); /* may re-arm, cancel or free t and any other timer */
	}
}

static void on_timerfd(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t expirations;

	(void)events;
	(void)arg;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	l->tfd_armed = false; /* one-shot: it fired, or was never meant to */
}

static void on_signalfd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si[8];
	ssize_t n;
	size_t i;

	(void)events;
	(void)arg;
	n = read(fd, si, sizeof(si));
	if (n <= 0)
		return;
	for (i = 0; i < (size_t)n / sizeof(si[0]); i++) {
		uint32_t signo = si[i].ssi_signo;

		if (signo < LOOP_NSIG && l->sigs[signo].cb)
			l->sigs[signo].cb(l, (int)signo, l->sigs[signo].arg);
	}
}

int loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
	sigset_t mask = l->sigmask;
	int fd = -1;

	if (signo <= 0 || signo >= LOOP_NSIG || sigaddset(&mask, signo) < 0) {
		errno = EINVAL;
		goto fail;
	}
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		goto fail;
	fd = signalfd(l->sfd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (l->sfd < 0 && loop_fd_watch(l, fd, EPOLLIN, on_signalfd, NULL) < 0)
		goto fail;
	l->sfd = fd;
	l->sigmask = mask;
	l->sigs[signo].cb = cb;
	l->sigs[signo].arg = arg;
	return 0;
fail:
	if (fd >= 0 && fd != l->sfd)
		close(fd);
	return -1;
}

/* How long epoll_wait may block: 0 when work is due, else -1 with the
 * timerfd programmed for the earliest deadline. */
static int wait_timeout(struct loop *l)
{
	struct itimerspec its;
	int64_t now, delta;

	if (l->defer_head)
		return 0;
	memset(&its, 0, sizeof(its));
	if (l->nheap == 0) {
		if (l->tfd_armed && timerfd_settime(l->tfd, 0, &its, NULL) == 0)
			l->tfd_armed = false;
		return -1;
	}
	now = l->clock(l->clock_ctx); /* callbacks of this turn took time */
	if (l->heap[0]->deadline <= now)
		return 0;
	if (l->tfd_armed && l->tfd_deadline == l->heap[0]->deadline)
		return -1;
	delta = l->heap[0]->deadline - now;
	its.it_value.tv_sec = (time_t)(delta / 1000);
	its.it_value.tv_nsec = (long)(delta % 1000) * 1000000L;
	if (timerfd_settime(l->tfd, 0, &its, NULL) < 0)
		return (int)(delta > 1000 ? 1000 : delta); /* cannot happen; degrade to polling */
	l->tfd_armed = true;
	l->tfd_deadline = l->heap[0]->deadline;
	return -1;
}

/* ---- the loop ---- */

int64_t loop_now(struct loop *l)
{
	if (!l->running)
		l->now = l->clock(l->clock_ctx);
	return l->now;
}

void loop_set_clock(struct loop *l, int64_t (*now_ms)(void *ctx), void *ctx)
{
	l->clock = now_ms ? now_ms : default_clock;
	l->clock_ctx = now_ms ? ctx : NULL;
	l->now = l->clock(l->clock_ctx);
}

void loop_set_idle(struct loop *l, loop_cb cb, void *arg)
{
	l->idle_cb = cb;
	l->idle_arg = arg;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

void loop_set_batching(struct loop *l, int64_t usec, bool (*busy)(void *ctx), void *ctx)
{
	l->batch_us = busy ? usec : 0;
	l->batch_busy = busy;
	l->batch_ctx = ctx;
}

/* A sparse turn while much is in flight: let answers gather before waiting,
 * so one wake-up (one epoll_wait, one context switch) serves several. */
static void batch_pause(struct loop *l, int nevents, int timeout)
{
	struct timespec ts;

	if (l->batch_us <= 0 || nevents >= LOOP_BATCH_ENOUGH || timeout == 0 ||
	    !l->batch_busy(l->batch_ctx))
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(l->batch_us * 1000);
	nanosleep(&ts, NULL);
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_MAX_EVENTS];
	int n = 0, rc = 0, timeout;

	l->running = true;
	for (;;) {
		uint64_t armed_before = l->seq;

		l->now = l->clock(l->clock_ctx);
		run_deferred(l);
		dispatch(l, ev, n);
		run_timers(l, armed_before);
		if (l->idle_cb)
			l->idle_cb(l, l->idle_arg);
		if (l->stop)
			break;
		timeout = wait_timeout(l);
		batch_pause(l, n, timeout);
		n = epoll_wait(l->epfd, ev, LOOP_MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			goto fail;
		if (n < 0)
			n = 0;
	}
	goto out;
fail:
	rc = -1;
out:
	l->running = false;
	l->stop = false;
	return rc;
}

struct loop *loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	l->epfd = l->tfd = l->sfd = -1;
	sigemptyset(&l->sigmask);
	l->clock = default_clock;
	l->now = l->clock(NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		goto fail;
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->tfd < 0)
		goto fail;
	if (loop_fd_watch(l, l->tfd, EPOLLIN, on_timerfd, NULL) < 0)
		goto fail;
	return l;
fail:
	loop_free(l);
	return NULL;
}

void loop_free(struct loop *l)
{
	struct deferred *d;
	int saved = errno;
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->nheap; i++)
		l->heap[i]->idx = NOT_ARMED;
	while ((d = l->defer_head)) {
		l->defer_head = d->next;
		free(d);
	}
	if (l->sfd >= 0)
		close(l->sfd);
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->heap);
	free(l->watches);
	free(l);
	errno = saved; /* loop_new reports why it failed */
}
