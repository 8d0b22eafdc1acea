/*
 * log.h - logging to stderr, as text or JSON lines.
 *
 * Text:  2026-11-25T10:00:00.123Z info  config: loaded bgplb.yaml (3 pools)
 * JSON:  {"ts":"...","level":"info","module":"config","msg":"..."}
 */
#ifndef BGPLB_LOG_H
#define BGPLB_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_DEBUG = 0,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
};

enum log_format {
	LOG_FMT_TEXT = 0,
	LOG_FMT_JSON,
};

void	log_init(enum log_level, enum log_format);
int	log_level_parse(const char *, enum log_level *);
int	log_format_parse(const char *, enum log_format *);
enum log_level log_get_level(void);

void	log_msg(enum log_level, const char *module, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_vmsg(enum log_level, const char *module, const char *fmt, va_list)
	    __attribute__((format(printf, 3, 0)));

#define log_debug(mod, ...)	log_msg(LOG_LVL_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...)	log_msg(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...)	log_msg(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...)	log_msg(LOG_LVL_ERROR, mod, __VA_ARGS__)

/* Broken invariant: log and abort. */
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
