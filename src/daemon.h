/*
 * daemon.h - the daemon's life cycle (daemon.c): load the config, start
 * the backends and the source, reload, stop.  struct core is in core.h,
 * the status endpoint in status.h, the capabilities in caps.h.
 */
#ifndef BGPLB_DAEMON_H
#define BGPLB_DAEMON_H

#include "core.h"

/* Load the config and start everything; -1 when the first load fails. */
int	daemon_init(struct core *, struct event_base *, const struct daemon_opts *);
/* Re-read the config file; a broken file leaves everything as it was. */
int	daemon_reload(struct core *, const char *why);
/* Withdraw everything, let the source finish, stop the loop. */
void	daemon_shutdown(struct core *);
void	daemon_free(struct core *);

#endif
