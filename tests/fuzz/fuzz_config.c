/*
 * fuzz_config - the YAML loader: cfg_load_buf() on the bytes (native,
 * MetalLB legacy or ConfigMap form); a config that loads is also written
 * out with cfg_emit() (to /dev/null), as --check-config does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct cfg_errors errs;
	struct cfg *cfg;
	char *buf;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	/* Exactly-sized copy, not NUL-terminated: the loader gets a length. */
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	if (size)
		memcpy(buf, data, size);
	memset(&errs, 0, sizeof(errs));
	cfg = cfg_load_buf("fuzz.yaml", buf, size, &errs);
	if (cfg != NULL) {
		cfg_emit(cfg, devnull);
		fflush(devnull);
		cfg_free(cfg);
	}
	for (size_t i = 0; i < errs.n; i++)
		if (errs.lines[i] == NULL)
			abort();
	cfg_errors_free(&errs);
	free(buf);
	return 0;
}
