/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "free_port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rng.h"

/* Ports below this one are left alone: well-known and registered services. */
#define FREE_PORT_LOW 10000
/* A reservation older than this belongs to a test that has long ended. */
#define FREE_PORT_LAPSE_S 3600

int free_port_ephemeral_low(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	int lo = 32768, hi;

	if (f) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(f);
	}
	return lo;
}

/* 0 when nothing is bound to `port` of 127.0.0.1 for this socket type. */
static int port_bindable(int type, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Takes `port` for this caller: 0, or -EEXIST when someone else has it. */
static int reserve(const char *root, int port)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%d", root, port);
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) == 0 && time(NULL) - st.st_mtime > FREE_PORT_LAPSE_S &&
	    rmdir(path) == 0 && mkdir(path, 0700) == 0)
		return 0;
	return -EEXIST;
}

int free_port_pick(void)
{
	/* Not $TMPDIR: a reservation is for every process of the machine (a
	 * test's own TMPDIR would hide it from the next one). */
	const char *root = "/tmp/weir-ports";
	int high = free_port_ephemeral_low();
	uint64_t seed = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^ (uint64_t)clock();

	if (high <= FREE_PORT_LOW + 100)
		high = 65536; /* an odd range: above it is as good as any */
	if (mkdir(root, 01777) < 0 && errno != EEXIST)
		return -errno;
	for (int tries = 0; tries < 500; tries++) {
		int port =
		    FREE_PORT_LOW + (int)(rng_next(&seed) % (uint64_t)(high - FREE_PORT_LOW));

		if (port_bindable(SOCK_STREAM, port) < 0 || port_bindable(SOCK_DGRAM, port) < 0)
			continue;
		if (reserve(root, port) == 0)
			return port;
	}
	return -EADDRNOTAVAIL;
}
