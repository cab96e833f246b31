// SPDX-License-Identifier: AGPL-3.0-or-later
/* The harness behind test.h: registration, TAP output, and main(). */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/free_port.h"
#include "common/metrics.h"
#include "store/chdb.h"

#define MAX_TESTS 1024

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int current_failed;
static const char *skip_reason;
static jmp_buf current_jmp;

void test_register(const char *name, test_fn fn)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "test harness: more than %d tests in one program\n", MAX_TESTS);
		exit(1);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	current_failed = 1;
}

void test_stop(void)
{
	longjmp(current_jmp, 1);
}

void test_skip(const char *reason)
{
	skip_reason = reason;
	longjmp(current_jmp, 1);
}

const char *test_shared_file(const char *relative)
{
	static char path[4096];
	const char *dir = getenv("WEIR_SHARED_TESTDATA");

	if (!dir || !*dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, relative);
	return access(path, R_OK) == 0 ? path : NULL;
}

const char *test_shared_file_or_skip(const char *relative)
{
	static char reason[512];
	const char *p = test_shared_file(relative);

	if (!p) {
		snprintf(reason, sizeof(reason), "../shared/testdata/%s is absent", relative);
		test_skip(reason);
	}
	return p;
}

long test_read_file(const char *path, uint8_t **data)
{
	FILE *fp = fopen(path, "rb");
	long size;

	if (!fp)
		return -1;
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return -1;
	}
	*data = malloc(size ? (size_t)size : 1);
	if (!*data || fread(*data, 1, (size_t)size, fp) != (size_t)size) {
		free(*data);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return size;
}

uint16_t test_free_udp_port(void)
{
	int port = free_port_pick();

	REQUIRE(port > 0);
	return (uint16_t)port;
}

int test_metrics_has(struct metrics_registry *reg, const char *text)
{
	char *all;
	size_t len;
	int found;

	if (metrics_render(reg, &all, &len) < 0)
		return 0;
	found = strstr(all, text) != NULL;
	if (!found && getenv("TEST_VERBOSE"))
		fprintf(stderr, "# no \"%s\" in:\n%s", text, all);
	free(all);
	return found;
}

int main(void)
{
	const char *filter = getenv("TEST_FILTER");
	int failed = 0, n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (filter && *filter && !strstr(tests[i].name, filter))
			continue;
		n++;
		current_failed = 0;
		skip_reason = NULL;
		if (setjmp(current_jmp) == 0)
			tests[i].fn();
		if (skip_reason)
			printf("ok %d - %s # SKIP %s\n", n, tests[i].name, skip_reason);
		else
			printf("%s %d - %s\n", current_failed ? "not ok" : "ok", n, tests[i].name);
		failed += current_failed;
	}
	printf("1..%d\n", n);
	store_chdb_exit(failed ? 1 : 0); /* a program that opened the embedded engine */
	return failed ? 1 : 0;
}

int test_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}
