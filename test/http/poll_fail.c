/* LD_PRELOAD shim for test/http/test_review.py: makes the long-poll
 * listener's poll() fail once, on demand, as no test can make the kernel do.
 *
 * When the file named by $CREDSYNC_POLL_FAIL exists, the next poll() over two
 * descriptors with a 1000 ms timeout (the listener's: its connection and its
 * stop pipe, one heartbeat long) removes the file and fails with ENOMEM.
 * Every other poll() is the real one. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    static int (*real_poll)(struct pollfd *, nfds_t, int);
    if (!real_poll) real_poll = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
    const char *trigger = getenv("CREDSYNC_POLL_FAIL");
    /* unlink() succeeds for one caller only: one failure per trigger. */
    if (nfds == 2 && timeout == 1000 && trigger && unlink(trigger) == 0) {
        errno = ENOMEM;
        return -1;
    }
    return real_poll(fds, nfds, timeout);
}
