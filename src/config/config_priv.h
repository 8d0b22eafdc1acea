/*
 * config_priv.h - helpers shared by the config loader's own files
 * (config.c parses, config_emit.c prints, config_values.c holds the value
 * parsers).  Nothing outside src/config/ includes this.
 */
#ifndef BGPLB_CONFIG_PRIV_H
#define BGPLB_CONFIG_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "bgplb/config.h"

/* Defaults, in one place so the loader, the emitter and the docs agree. */
#define CFG_DEF_STATUS_LISTEN	"127.0.0.1:7473"
#define CFG_MD5_KEY_MAX		80	/* TCP_MD5SIG_MAXKEYLEN */
#define CFG_DEF_PORT		179
#define CFG_DEF_HOLD_MS		90000u
#define CFG_DEF_CONNECT_MS	5000u
#define CFG_DEF_BFD_MS		300u
#define CFG_DEF_BFD_MULT	3
#define CFG_DEF_MEMBER_PORT	7946
#define CFG_DEF_INTERVAL_MS	100u
#define CFG_DEF_DEAD_AFTER_MS	500u
#define CFG_DEF_CONFIG_MAP	"bgplb-system/bgplb"
#define CFG_DEF_LEASE		"bgplb-system/bgplb-leader"
#define CFG_DEF_LB_CLASS	"bgplb.io/lb"
#define CFG_MAX_LABEL		1048575u	/* 20-bit MPLS label */

/* "90s", "300ms", "2m", "1h": the largest unit that divides exactly. */
const char *cfg_duration_fmt(uint32_t ms, char *buf, size_t len);
/* A well-known community name, or NULL. */
const char *cfg_community_name(uint32_t value);
/* "a:b" or the well-known name. */
const char *cfg_community_fmt(uint32_t value, char *buf, size_t len);
/* Canonical text of the 6 value bytes of an RD / RT of the given type. */
const char *cfg_rdrt_fmt(uint8_t type, const uint8_t value[6], char *buf,
	    size_t len);

#endif
