// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir console`: the console role alone (web UI, its API, /metrics) for a
 * console host that reads the ClickHouse the outlets write. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "common/cli_opts.h"
#include "common/log.h"
#include "common/signals.h"
#include "console/console.h"
#include "http/http.h"
#include "weir_config.h"

#define DEFAULT_CONFIG "config/weir.yaml"

static void usage(FILE *out, const void *ctx)
{
	(void)ctx;
	fprintf(out,
		"usage: weir console [-c FILE]\n\n"
		"Runs the console role: the web front end, Akvorado's API under\n"
		"/api/v0/console/, /healthz and /metrics on http.listen, reading the\n"
		"ClickHouse clickhouse.url names (as console.username when set).\n\n"
		"options:\n"
		"  -c, --config FILE  configuration (default %s when present, else the\n"
		"                     built-in defaults)\n"
		"  -h, --help         this help\n",
		DEFAULT_CONFIG);
}

int cli_console_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct weir_config cfg = {0};
	struct config_error cerr;
	struct error err = {""};
	struct metrics_registry *metrics = NULL;
	struct http_listener *http = NULL;
	struct console *console = NULL;
	struct signals *sig = NULL;
	const char *path = NULL;
	struct cli_opts o;
	int c, ret;

	cli_opts_init(&o, argc, argv, "c:h", opts, usage, NULL);
	while ((c = cli_opts_next(&o)) >= 0)
		if (c == 'c')
			path = optarg;
	if (c == CLI_OPTS_EXIT)
		return o.status;
	if (optind != argc)
		return cli_opts_usage_error(&o);
	if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
		path = DEFAULT_CONFIG;
	ret = path ? weir_config_load(&cfg, path, &cerr) : weir_config_defaults(&cfg);
	if (ret < 0) {
		fprintf(stderr, "weir console: %s\n", path ? cerr.text : "out of memory");
		weir_config_free(&cfg);
		return 1;
	}
	log_set_level((enum log_level)cfg.log.level);
	ret = signals_new(NULL, NULL, &sig, &err);
	if (ret == 0)
		ret = metrics_registry_new(&metrics, &err);
	if (ret == 0)
		ret = http_listener_new(cfg.http.listen, metrics, &http, &err);
	if (ret == 0)
		ret = console_new(&cfg.console, &cfg.clickhouse, http, metrics, &console, &err);
	if (ret == 0)
		ret = console_start(console, &err);
	if (ret == 0)
		ret = http_listener_start(http, &err);
	if (ret < 0) {
		fprintf(stderr, "weir console: %s\n", err.text);
		goto out;
	}
	log_info("console ready", "listen=%s port=%u", cfg.http.listen, http_listener_port(http));
	signals_wait(sig, UINT64_MAX);
out:
	console_stop(console);
	console_free(console);
	http_listener_free(http);
	signals_free(sig);
	metrics_registry_free(metrics);
	weir_config_free(&cfg);
	log_info("stopped", "role=%s", "console");
	return ret < 0 ? 1 : 0;
}
