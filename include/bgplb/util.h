/*
 * util.h - the one allocation wrapper, the one error formatter.
 *
 * Out of memory is not something bgplb degrades through: every x*()
 * allocation either succeeds or ends the process with fatalx() (logged,
 * then abort), so a daemon never runs on with half-built state.  Use these
 * instead of a private copy in each file.
 *
 * errf() writes a formatted message into a caller's buffer (err, errlen)
 * and returns -1, so a function can `return errf(err, errlen, "...", ...);`.
 */
#ifndef BGPLB_UTIL_H
#define BGPLB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t n, size_t size);	/* n 0: still a valid pointer */
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t n, size_t size);
char	*xstrdup(const char *);			/* NULL in: NULL out */
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int	errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	verrf(char *err, size_t errlen, const char *fmt, va_list)
	    __attribute__((format(printf, 3, 0)));

/*
 * Replace the file at path with what write() puts into the stream, so that
 * a crash leaves the old file or the new one, never a torn one: PATH.tmp,
 * fsync, rename, fsync of the directory.  0, or -1 with err.
 */
int	file_save_atomic(const char *path, void (*write)(FILE *, void *),
	    void *arg, char *err, size_t errlen);

#endif
