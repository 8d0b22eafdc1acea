/*
 * health_probe.c - TCP and exec checks: starting and stopping a probe.
 *
 * TCP: a non-blocking connect; the socket turning writable with SO_ERROR 0
 * is up.  Exec: fork, then in the child - its own session (so the whole
 * process group can be killed at the timeout), stdin /dev/null, stdout and
 * stderr into one pipe, every other descriptor closed, no capabilities
 * (all sets cleared, ambient too, and no_new_privs, which keeps a root
 * exec from regaining any), an environment of PATH only - and execve of
 * the configured argv: no shell.  The parent watches a pidfd for the exit
 * and the pipe for output, keeping the first HEALTH_OUT_MAX bytes and
 * draining the rest; at the timeout the scheduler stops the probe
 * (health_exec_stop), which sends SIGKILL to the process group and reaps it.  Nothing here blocks:
 * a check that hangs costs a timer and a process until its timeout.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/event.h>

#include "bgplb/log.h"
#include "bgplb/sockaddr.h"
#include "bgplb/util.h"
#include "health_priv.h"

/* ---- tcp ----------------------------------------------------------------- */

static void
on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	char why[128];

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr == 0) {
		hc->done(hc, true, NULL);
		return;
	}
	snprintf(why, sizeof(why), "connect: %s", strerror(soerr));
	hc->done(hc, false, why);
}

int
health_tcp_start(struct health_check *hc, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	sl = addr_to_sockaddr(&hc->cfg.addr, hc->cfg.port, &ss);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return errf(err, errlen, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, sl) == -1 &&
	    errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		return errf(err, errlen, "connect: %s", strerror(e));
	}
	hc->fd = fd;
	hc->io = event_new(hc->run->base, fd, EV_WRITE, on_connect, hc);
	event_add(hc->io, NULL);
	return 0;
}

/* Without pidfd_open: how often to look for the program's exit. */
#define EXIT_POLL_MS	5

/* ---- exec ---------------------------------------------------------------- */

/* The program's output as a one-line reason: control characters blanked. */
static void
exit_reason(struct health_check *hc, char *why, size_t len)
{
	char out[HEALTH_OUT_MAX + 1];
	size_t n = hc->outlen;

	memcpy(out, hc->out, n);
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	if (WIFEXITED(hc->status))
		snprintf(why, len, "exit status %d%s%s", WEXITSTATUS(hc->status),
		    n > 0 ? ": " : "", out);
	else if (WIFSIGNALED(hc->status))
		snprintf(why, len, "killed by signal %d%s%s",
		    WTERMSIG(hc->status), n > 0 ? ": " : "", out);
	else
		snprintf(why, len, "ended with status %d", hc->status);
}

/* Done when the process has exited and its output reached EOF (or the
 * pipe is left to a grandchild: the exit decides then). */
static void
exec_maybe_done(struct health_check *hc, bool force)
{
	char why[HEALTH_REASON_MAX];

	if (!hc->exited || (hc->outfd != -1 && !force))
		return;
	exit_reason(hc, why, sizeof(why));
	hc->done(hc, WIFEXITED(hc->status) &&
	    WEXITSTATUS(hc->status) == 0, why);
}

static void
on_output(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		size_t keep = HEALTH_OUT_MAX - hc->outlen;

		if (keep > (size_t)n)
			keep = (size_t)n;
		memcpy(hc->out + hc->outlen, buf, keep);
		hc->outlen += keep;
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	event_free(hc->out_ev);
	hc->out_ev = NULL;
	close(hc->outfd);
	hc->outfd = -1;
	exec_maybe_done(hc, false);
}

static void
on_exit_ev(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;

	if (waitpid(hc->pid, &hc->status, WNOHANG) != hc->pid)
		return;
	hc->exited = true;
	hc->pid = 0;
	event_free(hc->exit_ev);
	hc->exit_ev = NULL;
	if (hc->pidfd != -1)
		close(hc->pidfd);
	hc->pidfd = -1;
	/* Output written just before the exit is in the pipe already. */
	if (hc->outfd != -1)
		on_output(hc->outfd, EV_READ, hc);
	exec_maybe_done(hc, true);
}

static int
drop_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &h, d) == -1)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* In the child: only async-signal-safe calls; report failure by exit code. */
static void __attribute__((noreturn))
child(const struct health_check *hc, int out)
{
	char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int nul;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (setsid() == -1 || (nul = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(nul, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1)
		_exit(126);
	syscall(SYS_close_range, 3, ~0U, 0);
	if (drop_caps() == -1) {
		static const char m[] = "bgplbd: could not drop capabilities\n";

		(void)!write(2, m, sizeof(m) - 1);
		_exit(126);
	}
	execve(hc->cfg.argv[0], hc->cfg.argv, envp);
	{
		static const char m[] = "bgplbd: execve failed\n";

		(void)!write(2, m, sizeof(m) - 1);
	}
	_exit(127);
}

int
health_exec_start(struct health_check *hc, char *err, size_t errlen)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return errf(err, errlen, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return errf(err, errlen, "fork: %s", strerror(e));
	}
	if (pid == 0)
		child(hc, p[1]);
	close(p[1]);
	hc->pid = pid;
	hc->exited = false;
	hc->outlen = 0;
	hc->outfd = p[0];
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	hc->out_ev = event_new(hc->run->base, p[0], EV_READ | EV_PERSIST,
	    on_output, hc);
	event_add(hc->out_ev, NULL);
	if ((hc->pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		int e = errno;
		struct timeval tv = { 0, EXIT_POLL_MS * 1000 };

		if (e != ENOSYS)	/* stopping kills and reaps it */
			return errf(err, errlen, "pidfd_open: %s", strerror(e));
		/* No pidfd_open (a kernel before 5.3, or valgrind): look
		 * for the exit every few milliseconds instead. */
		hc->exit_ev = event_new(hc->run->base, -1, EV_PERSIST,
		    on_exit_ev, hc);
		event_add(hc->exit_ev, &tv);
		return 0;
	}
	hc->exit_ev = event_new(hc->run->base, hc->pidfd, EV_READ | EV_PERSIST,
	    on_exit_ev, hc);
	event_add(hc->exit_ev, NULL);
	return 0;
}

/* ---- stop ---------------------------------------------------------------- */

/* A killed program that has not exited yet (stuck in the kernel): reaped
 * when it does, without waiting for it. */
struct reaper {
	pid_t		 pid;
	int		 pidfd;
	struct event	*ev;
	struct health_runner *run;
	struct reaper	*next;
};

static void
reaper_free(struct reaper *r)
{
	struct reaper **pp = (struct reaper **)&r->run->reapers;

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	event_free(r->ev);
	close(r->pidfd);
	free(r);
}

void
health_exec_runner_free(struct health_runner *run)
{
	int st;

	/* SIGKILLed already: exiting is a matter of moments. */
	while (run->reapers != NULL) {
		struct reaper *r = run->reapers;

		waitpid(r->pid, &st, 0);
		reaper_free(r);
	}
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct reaper *r = arg;
	int st;

	if (waitpid(r->pid, &st, WNOHANG) == 0)
		return;
	reaper_free(r);
}

static void
reap_later(struct health_check *hc)
{
	struct reaper *r;
	int st;

	if (waitpid(hc->pid, &st, WNOHANG) != 0 || hc->pidfd == -1) {
		/* Gone, or no pidfd to wait on: block for the moment a
		 * SIGKILLed process takes to exit. */
		if (hc->pidfd == -1)
			waitpid(hc->pid, &st, 0);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->pid = hc->pid;
	r->pidfd = hc->pidfd;
	hc->pidfd = -1;
	r->ev = event_new(hc->run->base, r->pidfd, EV_READ | EV_PERSIST,
	    on_reap, r);
	event_add(r->ev, NULL);
	r->run = hc->run;
	r->next = hc->run->reapers;
	hc->run->reapers = r;
}

void
health_tcp_stop(struct health_check *hc)
{
	if (hc->io != NULL) {
		event_free(hc->io);
		hc->io = NULL;
	}
	if (hc->fd != -1) {
		close(hc->fd);
		hc->fd = -1;
	}
}

void
health_exec_stop(struct health_check *hc)
{
	if (hc->pid > 0) {
		/* Its whole session: a shell script's children too. */
		kill(-hc->pid, SIGKILL);
		kill(hc->pid, SIGKILL);
		if (hc->exit_ev != NULL) {
			event_free(hc->exit_ev);
			hc->exit_ev = NULL;
		}
		reap_later(hc);
		hc->pid = 0;
	}
	if (hc->exit_ev != NULL) {
		event_free(hc->exit_ev);
		hc->exit_ev = NULL;
	}
	if (hc->pidfd != -1) {
		close(hc->pidfd);
		hc->pidfd = -1;
	}
	if (hc->out_ev != NULL) {
		event_free(hc->out_ev);
		hc->out_ev = NULL;
	}
	if (hc->outfd != -1) {
		close(hc->outfd);
		hc->outfd = -1;
	}
}
