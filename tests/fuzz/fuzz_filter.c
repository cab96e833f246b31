// SPDX-License-Identifier: AGPL-3.0-or-later
/* libFuzzer target: the console's filter language. Each input is a filter;
 * when it parses, its SQL (both directions) must pass the oracle (only
 * schema columns, keywords, functions and typed literals); when it does not,
 * the error must point inside the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "console/filter.h"
#include "filter_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct filter *f = NULL;
	struct filter_error fe;
	const char *why = NULL;
	char *sql = NULL;

	if (filter_parse((const char *)data, size, &f, &fe) < 0) {
		if (fe.offset < 0 || (size_t)fe.offset > size || fe.line < 1 || fe.column < 1 ||
		    !fe.message[0])
			abort();
		return 0;
	}
	for (int rev = 0; rev < 2; rev++) {
		if (filter_sql(f, rev, &sql) < 0)
			abort();
		if (filter_oracle_check(sql, &why) < 0) {
			fprintf(stderr, "oracle: %s in: %s\n", why, sql);
			abort();
		}
		free(sql);
	}
	filter_free(f);
	return 0;
}
