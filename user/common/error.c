// SPDX-License-Identifier: AGPL-3.0-or-later
/* The error channel: reasons formatted into a caller's struct error. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return code;
}

int error_wrap(struct error *err, int code, const char *prefix)
{
	char old[sizeof(err->text)];

	if (!err)
		return code;
	memcpy(old, err->text, sizeof(old));
	old[sizeof(old) - 1] = 0;
	snprintf(err->text, sizeof(err->text), "%s: %s", prefix, old);
	return code;
}

const char *error_text(const struct error *err)
{
	return err ? err->text : "";
}
