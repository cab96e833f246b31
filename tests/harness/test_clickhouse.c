// SPDX-License-Identifier: AGPL-3.0-or-later
/* The throw-away clickhouse-server of the C integration tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "test_clickhouse.h"

static char ch_dir[256];
static char ch_url[128];
static char ch_lib[512];
static int ch_state; /* 0 not tried, 1 running, -1 unavailable */
static char ch_skip_reason[256];

static void ch_cleanup(void)
{
	char cmd[1024];

	if (ch_state != 1)
		return;
	snprintf(cmd, sizeof(cmd), "bash '%s' stop '%s'; rm -rf '%s'", ch_lib, ch_dir, ch_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", ch_dir);
	ch_state = 0;
}

int test_clickhouse_control(const char *verb)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "bash '%s' %s '%s' >/dev/null", ch_lib, verb, ch_dir);
	return system(cmd);
}

const char *test_clickhouse_dir(void)
{
	return ch_dir;
}

const char *test_clickhouse_url(const char *name)
{
	const char *top = getenv("WEIR_TOP");
	char cmd[1024];
	FILE *p;

	if (ch_state == 1)
		return ch_url;
	if (ch_state == -1)
		SKIP(ch_skip_reason);
	ch_state = -1;
	snprintf(ch_lib, sizeof(ch_lib), "%s/tests/integration/lib/clickhouse.sh", top ? top : ".");
	if (access(ch_lib, R_OK) != 0) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason), "%s not found (set WEIR_TOP)",
			 ch_lib);
		SKIP(ch_skip_reason);
	}
	snprintf(cmd, sizeof(cmd), "bash '%s' available", ch_lib);
	if (system(cmd) != 0) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason),
			 "clickhouse-server is not installed");
		SKIP(ch_skip_reason);
	}
	snprintf(ch_dir, sizeof(ch_dir), "%s/%s.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	if (!mkdtemp(ch_dir)) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason), "mkdtemp: %s", strerror(errno));
		SKIP(ch_skip_reason);
	}
	/* The server goes when this process goes, even killed. */
	snprintf(cmd, sizeof(cmd), "%d", (int)getpid());
	setenv("CH_WATCH_PID", cmd, 1);
	snprintf(cmd, sizeof(cmd), "bash '%s' start '%s'", ch_lib, ch_dir);
	p = popen(cmd, "r");
	if (!p || !fgets(ch_url, sizeof(ch_url), p)) {
		if (p)
			pclose(p);
		test_fail_at(__FILE__, __LINE__, "clickhouse-server did not start (logs in %s/log)",
			     ch_dir);
		test_stop();
	}
	pclose(p);
	ch_url[strcspn(ch_url, "\n")] = 0;
	ch_state = 1;
	atexit(ch_cleanup);
	return ch_url;
}
