// SPDX-License-Identifier: AGPL-3.0-or-later
/* Bounded big-endian appends (be.h); out of line so that be.h does not
 * bring <errno.h> to every file that reads a wire integer. */
#include "be.h"

#include <errno.h>
#include <string.h>

int be_append(uint8_t *buf, size_t cap, size_t *len, const void *src, size_t n)
{
	if (*len > cap || n > cap - *len)
		return -ENOSPC;
	if (n)
		memcpy(buf + *len, src, n);
	*len += n;
	return 0;
}

int be_append8(uint8_t *buf, size_t cap, size_t *len, uint8_t v)
{
	return be_append(buf, cap, len, &v, 1);
}

int be_append16(uint8_t *buf, size_t cap, size_t *len, uint16_t v)
{
	uint8_t b[2];

	be16_put(b, v);
	return be_append(buf, cap, len, b, sizeof(b));
}

int be_append32(uint8_t *buf, size_t cap, size_t *len, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	return be_append(buf, cap, len, b, sizeof(b));
}

int be_append64(uint8_t *buf, size_t cap, size_t *len, uint64_t v)
{
	uint8_t b[8];

	be64_put(b, v);
	return be_append(buf, cap, len, b, sizeof(b));
}
