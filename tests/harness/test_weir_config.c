// SPDX-License-Identifier: AGPL-3.0-or-later
/* weir.yaml from a string (test_weir_config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "test_weir_config.h"

int test_weir_config_load(const char *yaml, struct weir_config *cfg, struct config_error *err)
{
	char path[] = TEST_WEIR_CONFIG_PREFIX "XXXXXX";
	size_t len = strlen(yaml);
	int fd = mkstemp(path), r;

	REQUIRE(fd >= 0);
	if (write(fd, yaml, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		test_fail_at(__FILE__, __LINE__, "cannot write %s", path);
		test_stop();
	}
	close(fd);
	r = weir_config_load(cfg, path, err);
	unlink(path);
	return r;
}
