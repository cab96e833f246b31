/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ports of 127.0.0.1 for a server that a test or a benchmark starts later.
 *
 * Asking the kernel for port 0 gives a port of the ephemeral range, which
 * any outgoing connection (to ClickHouse, to Kafka) may take as its local
 * port before the server binds it: a test then fails with "Address already
 * in use" now and then. These ports come from below that range, are free for
 * both TCP and UDP when chosen, and are reserved (a directory under
 * /tmp/weir-ports, atomic mkdir) so that no two callers, processes or shell
 * helpers, get the same one; reservations older than an hour lapse. */
#ifndef WEIR_COMMON_FREE_PORT_H
#define WEIR_COMMON_FREE_PORT_H

/* A port as above, or -errno (-EADDRNOTAVAIL when none was found). */
int free_port_pick(void);

/* The lowest port of the kernel's ephemeral range (32768 by default). */
int free_port_ephemeral_low(void);

#endif
