// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir stats`: reads a running weir's /metrics (the http.listen address of
 * its configuration, or --url) and prints what an operator asks first: is
 * anything lost, where, and is it weir or the network before it. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/addr.h"
#include "common/cli_opts.h"
#include "common/metrics_text.h"
#include "common/stats_summary.h"
#include "weir_config.h"

/* /metrics of a weir of a few thousand exporters stays well below this. */
#define STATS_MAX_BYTES	 (64u << 20)
#define STATS_TIMEOUT_MS 5000L

/* What was read, in a memory stream (data and len are valid once f is
 * closed). */
struct body {
	FILE *f;
	char *data;
	size_t len, total;
	int too_big;
};

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;

	b->total += add;
	if (b->total > STATS_MAX_BYTES) {
		b->too_big = 1;
		return 0;
	}
	return fwrite(data, 1, add, b->f);
}

/* GETs `url` into *b. 0, or -EIO with the reason in `err`. */
static int fetch(const char *url, struct body *b, struct error *err)
{
	char why[CURL_ERROR_SIZE] = "";
	CURL *h;
	CURLcode rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	if (!h)
		return error_set(err, -ENOMEM, "stats: cannot make an HTTP client");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, STATS_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, why);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	if (b->too_big)
		return error_set(err, -EFBIG, "stats: %s: more than %u bytes", url,
				 STATS_MAX_BYTES);
	if (rc != CURLE_OK)
		return error_set(err, -EIO,
				 "stats: %s: %s (is weir running, with this http.listen?)", url,
				 why[0] ? why : curl_easy_strerror(rc));
	return 0;
}

/* http://HOST:PORT/metrics for an http.listen string; an "every address"
 * listen is reached on the loopback. */
static int url_of_listen(const char *listen, char *url, size_t size, struct error *err)
{
	struct sockaddr_in6 sa;
	struct in6_addr a;
	char host[ADDR_TEXT_MAX];

	if (addr_parse_listen(listen, &sa) < 0)
		return error_set(err, -EINVAL, "stats: http.listen \"%s\" is not HOST:PORT",
				 listen);
	a = sa.sin6_addr;
	if (IN6_IS_ADDR_UNSPECIFIED(&a) ||
	    (IN6_IS_ADDR_V4MAPPED(&a) && !memcmp(a.s6_addr + 12, "\0\0\0\0", 4)))
		addr_from_ipv4(&a, 0x7f000001u);
	addr_to_text(&a, host, sizeof(host));
	if (IN6_IS_ADDR_V4MAPPED(&a))
		snprintf(url, size, "http://%s:%u/metrics", host, ntohs(sa.sin6_port));
	else
		snprintf(url, size, "http://[%s]:%u/metrics", host, ntohs(sa.sin6_port));
	return 0;
}

static void usage(FILE *out, const void *ctx)
{
	(void)ctx;
	fputs("usage: weir stats [-c FILE | --url URL | --file METRICS]\n\n"
	      "Reads the /metrics of a running weir and prints a summary: inputs (received,\n"
	      "kernel drops, XDP), rings, exporters sorted by loss (datagrams, flows, drops by\n"
	      "reason in weir, sequence numbers lost before weir, late or duplicated\n"
	      "datagrams, restarts), store and enrichment.\n\n"
	      "  -c, --config FILE  the weir configuration: its http.listen address\n"
	      "                     (default: http://127.0.0.1:8081)\n"
	      "  -u, --url URL      the metrics address (a base URL gets /metrics)\n"
	      "  -f, --file FILE    a saved copy of /metrics instead\n",
	      out);
}

static int read_file(const char *path, struct body *b, struct error *err)
{
	FILE *f = fopen(path, "r");
	char chunk[65536];
	size_t n;

	if (!f)
		return error_set(err, -errno, "stats: %s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (body_write(chunk, 1, n, b) != n) {
			fclose(f);
			return error_set(err, -EFBIG, "stats: %s: too big", path);
		}
	fclose(f);
	return 0;
}

int cli_stats_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"url", required_argument, NULL, 'u'},
	    {"file", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *url_arg = NULL, *file = NULL;
	char url[512];
	struct body b = {0};
	struct metrics_text m = {0};
	struct error err = {0};
	struct cli_opts o;
	int c, r = 0;

	cli_opts_init(&o, argc, argv, "c:u:f:h", longopts, usage, NULL);
	while ((c = cli_opts_next(&o)) >= 0)
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'u':
			url_arg = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		}
	if (c == CLI_OPTS_EXIT)
		return o.status;
	if (optind != argc || !!config + !!url_arg + !!file > 1)
		return cli_opts_usage_error(&o);
	snprintf(url, sizeof(url), "http://127.0.0.1:8081/metrics");
	if (url_arg) {
		size_t n = strlen(url_arg);

		/* A base URL ("http://host:8081" or ".../") gets /metrics. */
		if (n >= 8 && strcmp(url_arg + n - 8, "/metrics") == 0)
			snprintf(url, sizeof(url), "%s", url_arg);
		else
			snprintf(url, sizeof(url), "%s%smetrics", url_arg,
				 n && url_arg[n - 1] == '/' ? "" : "/");
	} else if (config) {
		struct weir_config cfg;
		struct config_error cerr;

		r = weir_config_load(&cfg, config, &cerr);
		if (r < 0) {
			fprintf(stderr, "weir: %s\n", cerr.text);
			weir_config_free(&cfg);
			return 1;
		}
		r = url_of_listen(cfg.http.listen, url, sizeof(url), &err);
		weir_config_free(&cfg);
	}
	b.f = open_memstream(&b.data, &b.len);
	if (!b.f)
		return fprintf(stderr, "weir: stats: out of memory\n"), 1;
	if (r == 0)
		r = file ? read_file(file, &b, &err) : fetch(url, &b, &err);
	fclose(b.f);
	if (r == 0)
		r = metrics_text_parse(&m, b.data, b.len, &err);
	if (r == 0) {
		printf("weir stats: %s\n\n", file ? file : url);
		r = stats_summary_write(&m, stdout);
		if (r < 0)
			error_set(&err, r, "stats: out of memory");
	}
	if (r < 0)
		fprintf(stderr, "weir: %s\n", err.text);
	metrics_text_fini(&m);
	free(b.data);
	return r < 0 ? 1 : 0;
}
