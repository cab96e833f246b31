// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir probe -c FILE`: the host probe alone (the `probe:` section of the
 * configuration), with the HTTP listener for /metrics (`http.listen`);
 * SIGINT/SIGTERM detach the programs and export every open flow. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/cli_opts.h"
#include "common/log.h"
#include "common/signals.h"
#include "http/http.h"
#include "probe/probe.h"
#include "weir_config.h"

static void usage(FILE *out, const void *ctx)
{
	(void)ctx;
	fprintf(out, "usage: weir probe -c FILE\n\n"
		     "Meters this host's traffic in the kernel (tcx or clsact programs on the\n"
		     "interfaces of probe.interfaces, or every non-loopback one) and exports\n"
		     "the flows as IPFIX to probe.collectors, with /metrics on http.listen.\n\n"
		     "options:\n"
		     "  -c, --config FILE  configuration (its probe: section)\n"
		     "  -h, --help         this help\n\n"
		     "SIGINT/SIGTERM detach the programs and export every open flow.\n");
}

int cli_probe_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct metrics_registry *metrics = NULL;
	struct http_listener *http = NULL;
	struct probe *probe = NULL;
	struct signals *sig = NULL;
	struct cli_opts o;
	struct weir_config cfg = {0};
	struct config_error cerr;
	struct error err = {{0}};
	const char *path = NULL;
	int c, ret = 1;

	cli_opts_init(&o, argc, argv, "c:h", opts, usage, NULL);
	while ((c = cli_opts_next(&o)) >= 0) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		}
	}
	if (c == CLI_OPTS_EXIT)
		return o.status;
	if (!path || optind != argc) {
		return cli_opts_usage_error(&o);
	}
	if (weir_config_load(&cfg, path, &cerr) < 0) {
		fprintf(stderr, "weir probe: %s\n", cerr.text);
		goto out;
	}
	log_set_level((enum log_level)cfg.log.level);
	/* Before any thread starts: they inherit the blocked signals. */
	if (signals_new(NULL, NULL, &sig, &err) < 0) {
		fprintf(stderr, "weir probe: %s\n", error_text(&err));
		goto out;
	}
	if (metrics_registry_new(&metrics, &err) < 0 ||
	    http_listener_new(cfg.http.listen, metrics, &http, &err) < 0 ||
	    http_listener_start(http, &err) < 0) {
		fprintf(stderr, "weir probe: %s\n", error_text(&err));
		goto out;
	}
	if (probe_new(&cfg.probe, metrics, &probe, &err) < 0 || probe_start(probe, &err) < 0) {
		fprintf(stderr, "weir probe: %s\n", error_text(&err));
		goto out;
	}
	log_info("ready", "role=probe config=%s metrics=http://%s/metrics", path, cfg.http.listen);
	signals_wait(sig, UINT64_MAX);
	ret = 0;
out:
	probe_free(probe); /* detaches, drains, exports what is left */
	http_listener_free(http);
	metrics_registry_free(metrics);
	signals_free(sig);
	weir_config_free(&cfg);
	return ret;
}
