/* loop.h - the single-threaded event loop: epoll for file descriptors, one
 * timerfd behind a min-heap of timers, signalfd for signals, deferred calls. */
#ifndef S3S_LOOP_H
#define S3S_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

/* events are EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits. */
typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_cb)(struct loop *l, void *arg);
typedef void (*loop_signal_cb)(struct loop *l, int signo, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l); /* NULL is fine */

/* Watch fd for events (replaces an existing watch on the same fd). */
int loop_fd_watch(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
void loop_fd_unwatch(struct loop *l, int fd);

/* Timers are owned by the caller; arming an armed timer re-arms it. */
struct loop_timer *loop_timer_new(struct loop *l, loop_cb cb, void *arg);
void loop_timer_arm(struct loop_timer *t, int64_t delay_ms);
void loop_timer_cancel(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
void loop_timer_free(struct loop_timer *t); /* cancels; NULL is fine */

/* Run cb once on the next turn of the loop, outside any callback that is
 * running now (for freeing objects whose callback is on the stack). */
void loop_defer(struct loop *l, loop_cb cb, void *arg);

/* Deliver signo through signalfd (the signal is blocked for the process). */
int loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* Monotonic milliseconds, read once per turn; tests may pin it. */
int64_t loop_now(struct loop *l);
void loop_set_clock(struct loop *l, int64_t (*now_ms)(void *ctx), void *ctx);

/* Called once per turn, before waiting (watchdog, status). */
void loop_set_idle(struct loop *l, loop_cb cb, void *arg);

/* Run until loop_stop(); returns 0, or -1 on an epoll failure. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
