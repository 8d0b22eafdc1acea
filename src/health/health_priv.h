/*
 * health_priv.h - private to src/health: one check's state, and the probe
 * interface between the scheduler (health.c) and the probes
 * (health_http.c: libcurl multi; health_probe.c: TCP connect and exec).
 *
 * A probe is started by health_KIND_start() and ends exactly once, by
 * health_probe_done() (called by the probe itself on a result, or by the
 * scheduler's timeout); health_probe_stop() releases whatever a probe in
 * flight holds (socket, curl handle, process group, pipe) and is safe to
 * call when none is running.
 */
#ifndef BGPLB_HEALTH_PRIV_H
#define BGPLB_HEALTH_PRIV_H

#include <sys/types.h>
#include <stdbool.h>
#include <time.h>

#include "bgplb/health.h"

#define HEALTH_OUT_MAX		256	/* bytes of a program's output kept */
#define HEALTH_REASON_MAX	320

struct event;
struct event_base;

struct health_runner {
	struct event_base *base;
	void		*multi;		/* CURLM *, created on first use */
	struct event	*curl_timer;
	size_t		 nchecks;
};

struct health_check {
	struct health_runner *run;
	char		*name;
	struct cfg_health cfg;		/* url and argv are our copies */
	struct health_sm sm;
	health_cb	 cb;
	void		*cbarg;
	struct event	*tick;		/* every interval: start a probe */
	struct event	*deadline;	/* the probe's timeout */
	time_t		 since;
	char		 last_failure[HEALTH_REASON_MAX];
	time_t		 last_failure_at;
	unsigned long	 nchecks, nfailures, ntimeouts, ntransitions;
	uint64_t	 last_ms;	/* duration of the last probe */
	struct timespec	 started;
	bool		 running;
	/* tcp */
	int		 fd;
	struct event	*io;
	/* http */
	void		*easy;		/* CURL * */
	char		 curl_err[256];
	/* exec */
	pid_t		 pid;
	int		 pidfd;
	int		 outfd;
	struct event	*exit_ev;
	struct event	*out_ev;
	char		 out[HEALTH_OUT_MAX + 1];
	size_t		 outlen;
	bool		 exited;
	int		 status;
};

/* health.c */
void	health_probe_done(struct health_check *, bool ok, const char *reason);

/* health_http.c */
int	health_http_start(struct health_check *, char *err, size_t errlen);
void	health_http_stop(struct health_check *);
void	health_http_runner_free(struct health_runner *);

/* health_probe.c */
int	health_tcp_start(struct health_check *, char *err, size_t errlen);
int	health_exec_start(struct health_check *, char *err, size_t errlen);
/* Everything a probe in flight holds, whatever its kind. */
void	health_probe_stop(struct health_check *);

#endif
