/*
 * notify.h - telling the service manager how the daemon is doing
 * (notify.c): READY=1 after the first config load and after each reload,
 * RELOADING=1 when a reload begins, STOPPING=1 at shutdown, each with a
 * STATUS= line for `systemctl status`.  Without libsystemd (meson
 * -Dsystemd=disabled) or outside systemd ($NOTIFY_SOCKET unset) every call
 * does nothing.
 */
#ifndef BGPLB_NOTIFY_H
#define BGPLB_NOTIFY_H

void	notify_ready(const char *status);
void	notify_reloading(void);
void	notify_stopping(void);

#endif
