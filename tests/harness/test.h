/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A small test harness that prints TAP: each TEST() is one "ok"/"not ok"
 * line, SKIP() gives "ok N - name # SKIP reason". tests/run.sh adds up the
 * lines of every test program into the `make check` summary.
 *
 *   TEST(v5_header_too_short) { ... CHECK_EQ(r.status, DECODE_TRUNCATED); }
 *
 * CHECK* record a failure and go on; REQUIRE* end the test at once.
 * TEST_FILTER=substring runs only the tests whose name contains it. */
#ifndef WEIR_TEST_H
#define WEIR_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*test_fn)(void);

void test_register(const char *name, test_fn fn);
void test_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void test_stop(void) __attribute__((noreturn)); /* ends the current test */
void test_skip(const char *reason) __attribute__((noreturn));

/* Path of a file in ../shared/testdata (from $WEIR_SHARED_TESTDATA, set by
 * tests/run.sh), in a static buffer; NULL when it is not there. */
const char *test_shared_file(const char *relative);
/* Same, but skips the current test with a message when absent. */
const char *test_shared_file_or_skip(const char *relative);

/* Runs a shell command made with printf's format (up to 1 KiB). Returns
 * system()'s status: 0 when it succeeded. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a whole file into a malloc'd buffer. Returns its size, or -1. */
long test_read_file(const char *path, uint8_t **data);

/* A port of 127.0.0.1 free for UDP and TCP a moment ago, below the ephemeral
 * range and reserved (common/free_port.h); ends the current test when there
 * is none. */
uint16_t test_free_udp_port(void);

struct metrics_registry;
/* 1 when the registry's text (/metrics) contains `text`, otherwise 0 (and,
 * with TEST_VERBOSE set, the whole text goes to stderr to show what was). */
int test_metrics_has(struct metrics_registry *reg, const char *text);

#define TEST(name)                                                                                 \
	static void test_##name(void);                                                             \
	__attribute__((constructor)) static void test_register_##name(void)                        \
	{                                                                                          \
		test_register(#name, test_##name);                                                 \
	}                                                                                          \
	static void test_##name(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			test_fail_at(__FILE__, __LINE__, "CHECK(%s) failed", #cond);               \
	} while (0)

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			test_fail_at(__FILE__, __LINE__, "REQUIRE(%s) failed", #cond);             \
			test_stop();                                                               \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b);   \
		if (va_ != vb_)                                                                    \
			test_fail_at(__FILE__, __LINE__,                                           \
				     "%s == %s: %llu (0x%llx) != %llu (0x%llx)", #a, #b, va_, va_, \
				     vb_, vb_);                                                    \
	} while (0)

#define REQUIRE_EQ(a, b)                                                                           \
	do {                                                                                       \
		unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b);   \
		if (va_ != vb_) {                                                                  \
			test_fail_at(__FILE__, __LINE__, "%s == %s: %llu != %llu", #a, #b, va_,    \
				     vb_);                                                         \
			test_stop();                                                               \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *sa_ = (a), *sb_ = (b);                                                 \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                         \
			test_fail_at(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,     \
				     sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                  \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                         \
	do {                                                                                       \
		if (memcmp((a), (b), (n)) != 0)                                                    \
			test_fail_at(__FILE__, __LINE__, "memcmp(%s, %s, %s) != 0", #a, #b, #n);   \
	} while (0)

#define SKIP(reason) test_skip(reason)

#endif
