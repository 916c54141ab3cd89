/* loop.h - the single-threaded event loop: epoll for file descriptors, one
 * timerfd behind a min-heap of timers, signalfd for signals, deferred calls. */
#ifndef S3S_LOOP_H
#define S3S_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One turn of loop_run():
 *   1. loop_now() is read from the clock (once per turn);
 *   2. deferred calls queued before this turn run, in FIFO order;
 *   3. fd events from the last wait are dispatched;
 *   4. expired timers armed before this turn fire, in deadline order (ties in
 *      arming order);
 *   5. the idle callback runs;
 *   6. if loop_stop() was called, loop_run() returns; otherwise it waits.
 * Anything queued, armed or watched during a turn takes effect on the next
 * one: a 0 ms timer or a loop_defer() never runs recursively.
 *
 * Callbacks may watch, unwatch and close any fd (their own included: events
 * already fetched for an fd that was unwatched are dropped) and arm, cancel
 * or free any timer (their own included). They must not call loop_free().
 */

struct loop;
struct loop_timer;

/* events are EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits. */
typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_cb)(struct loop *l, void *arg);
typedef void (*loop_signal_cb)(struct loop *l, int signo, void *arg);

/* NULL if epoll/timerfd could not be created (errno tells why). */
struct loop *loop_new(void);
/* NULL is fine. Pending deferred calls are dropped without running; armed
 * timers are disarmed (their owners still free them, before or after). */
void loop_free(struct loop *l);

/* Watch fd (level-triggered) for events; cb must not be NULL. Watching a
 * watched fd replaces its events, cb and arg. Returns 0, or -1 with errno.
 * Unwatch before closing the fd. */
int loop_fd_watch(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
void loop_fd_unwatch(struct loop *l, int fd); /* not watched is fine */

/* Timers are owned by the caller; arming an armed timer re-arms it.
 * delay_ms counts from loop_now(); negative delays count as 0. */
struct loop_timer *loop_timer_new(struct loop *l, loop_cb cb, void *arg);
void loop_timer_arm(struct loop_timer *t, int64_t delay_ms);
void loop_timer_cancel(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
void loop_timer_free(struct loop_timer *t); /* cancels; NULL is fine */

/* Run cb once on the next turn of the loop, outside any callback that is
 * running now (for freeing objects whose callback is on the stack). */
void loop_defer(struct loop *l, loop_cb cb, void *arg);

/* Deliver signo through signalfd: the signal is blocked with sigprocmask
 * (block it before starting threads) and stays blocked after loop_free().
 * A NULL cb drops the handler (the signal stays blocked). 0 or -1/errno. */
int loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* Monotonic milliseconds, read once per turn inside loop_run() (outside it,
 * every call reads the clock); tests may pin it. The default clock is
 * clock_mono_ms(); loop_set_clock(l, NULL, NULL) restores it. Timers keep
 * the timerfd armed for (deadline - now) real milliseconds, so a test clock
 * must keep the loop turning (a watched fd or a 0 ms timer) to move fast. */
int64_t loop_now(struct loop *l);
void loop_set_clock(struct loop *l, int64_t (*now_ms)(void *ctx), void *ctx);

/* Called once per turn, before waiting (watchdog, status). NULL clears it. */
void loop_set_idle(struct loop *l, loop_cb cb, void *arg);

/* Batching under load: when busy(ctx) says much is in flight and the last
 * wait brought fewer than 8 events, the loop sleeps usec microseconds before
 * the next wait, so answers gather and one wake-up serves several (fewer
 * context switches and epoll_wait calls per answer). Never when timers or
 * deferred calls are due. usec 0 or busy NULL turns it off (the default). */
void loop_set_batching(struct loop *l, int64_t usec, bool (*busy)(void *ctx), void *ctx);
/* Run until loop_stop(); returns 0, or -1 on an epoll failure. */
int loop_run(struct loop *l);
/* loop_run() returns at the end of the current turn (or after its first turn
 * when called while the loop is not running). */
void loop_stop(struct loop *l);

#endif
