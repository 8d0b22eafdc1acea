/*
 * health_priv.h - private to src/health: one check's state, and the probe
 * interface between the scheduler (health.c) and the probes
 * (health_http.c: libcurl multi; health_probe.c: TCP connect and exec).
 *
 * A probe is started by health_KIND_start() and ends exactly once, by the
 * check's done() (the scheduler's, called by the probe itself on a result,
 * or by the scheduler at the timeout); health_KIND_stop() releases what a
 * probe of that kind holds in flight (socket, curl handle, process group,
 * pipe) and is safe to call when none is running.  The probes know the
 * scheduler only by that pointer.
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
	void		*reapers;	/* killed programs not yet exited */
};

struct health_check {
	struct health_runner *run;
	char		*name;
	struct cfg_health cfg;		/* url and argv are our copies */
	struct health_sm sm;
	health_cb	 cb;
	void		*cbarg;
	/* A probe's result (health.c's); reason NULL when ok. */
	void		(*done)(struct health_check *, bool ok, const char *reason);
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

/* health_http.c */
int	health_http_start(struct health_check *, char *err, size_t errlen);
void	health_http_stop(struct health_check *);
void	health_http_runner_free(struct health_runner *);

/* health_probe.c */
int	health_tcp_start(struct health_check *, char *err, size_t errlen);
int	health_exec_start(struct health_check *, char *err, size_t errlen);
void	health_tcp_stop(struct health_check *);
void	health_exec_stop(struct health_check *);
/* Reap the killed programs still running (blocks for their exit). */
void	health_exec_runner_free(struct health_runner *);

#endif
