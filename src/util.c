/*
 * util.c - the allocation wrapper and error formatter of util.h: one
 * out-of-memory policy for the whole daemon (fatalx).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/log.h"
#include "bgplb/util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return q;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		fatalx("out of memory (%zu x %zu bytes overflows)", n, size);
	return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		fatalx("out of memory");
	return d;
}

char *
xstrndup(const char *s, size_t n)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strndup(s, n)) == NULL)
		fatalx("out of memory");
	return d;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r == -1)
		fatalx("out of memory");
	return s;
}

int
verrf(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err != NULL && errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	return -1;
}

int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
