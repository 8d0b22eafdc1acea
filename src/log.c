/*
 * log.c - one place where every module's log lines are formatted.
 *
 * Lines go to stderr, either as text for a person at a terminal or as one
 * JSON object per line for a log collector.  The timestamp is UTC with
 * milliseconds; the module names the part of the daemon that speaks.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "bgplb/log.h"

static enum log_level	log_lvl = LOG_LVL_INFO;
static enum log_format	log_fmt = LOG_FMT_TEXT;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(enum log_level lvl, enum log_format fmt)
{
	log_lvl = lvl;
	log_fmt = fmt;
}

enum log_level
log_get_level(void)
{
	return log_lvl;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FMT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -1;
	return 0;
}

static void
timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
}

void
log_vmsg(enum log_level lvl, const char *module, const char *fmt, va_list ap)
{
	char msg[2048], ts[64];

	if (lvl < log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	timestamp(ts, sizeof(ts));
	if (log_fmt == LOG_FMT_JSON) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ts", json_object_new_string(ts));
		json_object_object_add(o, "level",
		    json_object_new_string(level_names[lvl]));
		json_object_object_add(o, "module",
		    json_object_new_string(module ? module : "main"));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		fprintf(stderr, "%s %-5s %s: %s\n", ts, level_names[lvl],
		    module ? module : "main", msg);
	}
	fflush(stderr);
}

void
log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, module, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERROR, "fatal", fmt, ap);
	va_end(ap);
	abort();
}
