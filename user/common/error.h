/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The one error channel of weir: a function that can fail returns 0 or a
 * negative errno and, when the caller passed a `struct error *`, says why in
 * it, in one line a person can act on ("inlet: interface eth9 not found").
 * The caller decides whether to log it, print it or test it. */
#ifndef WEIR_COMMON_ERROR_H
#define WEIR_COMMON_ERROR_H

struct error {
	char text[512];
};

/* Formats the reason into `err` (NULL is fine: nothing is written) and
 * returns `code`, so that a failure is one line:
 *	return error_set(err, -ENOENT, "inlet: interface %s not found", name);
 * `code` should be a negative errno. */
int error_set(struct error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts `prefix: ` before what `err` already says (a caller adding context to
 * a callee's reason). NULL `err` is fine. Returns `code`. */
int error_wrap(struct error *err, int code, const char *prefix);

/* The reason, or "" when none was set. `err` may be NULL. */
const char *error_text(const struct error *err);

#endif
