/*
 * notify.c - sd_notify(3) for a Type=notify unit (bgplbd.service): the
 * daemon's life cycle as the service manager sees it.  main.c says READY
 * once the first config is running; daemon.c says RELOADING / READY around
 * each reload (SIGHUP or a changed file) and STOPPING when it begins to
 * withdraw.  Built without libsystemd, these are no-ops: nothing else in
 * the daemon knows whether systemd is there.
 */
#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
#include <stdio.h>
#include <systemd/sd-daemon.h>

void
notify_ready(const char *status)
{
	(void)sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_reloading(void)
{
	(void)sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void
notify_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1\nSTATUS=withdrawing and stopping");
}

#else

void
notify_ready(const char *status)
{
	(void)status;
}

void
notify_reloading(void)
{
}

void
notify_stopping(void)
{
}

#endif
