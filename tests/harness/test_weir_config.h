/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A whole weir.yaml from a string, for the tests of the configuration
 * sections: written to a temporary file and loaded as `weir -c FILE` does. */
#ifndef WEIR_TEST_WEIR_CONFIG_H
#define WEIR_TEST_WEIR_CONFIG_H

#include "weir_config.h"

/* The file's name starts with this: errors name it. */
#define TEST_WEIR_CONFIG_PREFIX "/tmp/weir-test-config-"

/* Loads `yaml` through weir_config_load() from a file written for it and
 * removed after. Returns what weir_config_load() returns (on 0, *cfg is the
 * caller's to weir_config_free()); ends the current test when the file
 * cannot be written. */
int test_weir_config_load(const char *yaml, struct weir_config *cfg, struct config_error *err);

#endif
