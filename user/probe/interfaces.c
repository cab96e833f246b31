// SPDX-License-Identifier: AGPL-3.0-or-later
/* Which interfaces the probe meters, and what the interfaces options data
 * says of them: name, ifAlias as the description, speed. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe_internal.h"

/* First line of /sys/class/net/NAME/WHAT into buf (empty when unreadable). */
static void sysfs_read(const char *name, const char *what, char *buf, size_t size)
{
	char path[128];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

static int iface_flags(const char *name, short *flags)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	else
		*flags = ifr.ifr_flags;
	close(fd);
	return r;
}

int probe_iface_state(const char *name)
{
	short flags = 0;
	int r = iface_flags(name, &flags);

	if (r < 0)
		return r;
	return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

static int fill(struct probe_iface_info *i, const char *name, unsigned ifindex)
{
	char speed[32];
	long mbps;

	memset(i, 0, sizeof(*i));
	i->ifindex = ifindex;
	snprintf(i->name, sizeof(i->name), "%s", name);
	sysfs_read(name, "ifalias", i->description, sizeof(i->description));
	/* Mb/s; -1 or unreadable for virtual and down links. */
	sysfs_read(name, "speed", speed, sizeof(speed));
	mbps = strtol(speed, NULL, 10);
	i->speed_bps = mbps > 0 ? (uint64_t)mbps * 1000000u : 0;
	return 1;
}

size_t probe_ifaces_list(const struct config_list *names, struct probe_iface_info *out, size_t cap)
{
	struct if_nameindex *all, *it;
	size_t n = 0;

	if (names && names->count) {
		char *const *v = names->items;

		for (size_t k = 0; k < names->count && n < cap; k++) {
			unsigned idx = if_nametoindex(v[k]);

			if (idx)
				n += fill(&out[n], v[k], idx);
		}
		return n;
	}
	all = if_nameindex();
	if (!all)
		return 0;
	for (it = all; it->if_index && n < cap; it++) {
		short flags = 0;

		if (iface_flags(it->if_name, &flags) < 0 || (flags & IFF_LOOPBACK))
			continue;
		n += fill(&out[n], it->if_name, it->if_index);
	}
	if_freenameindex(all);
	return n;
}
