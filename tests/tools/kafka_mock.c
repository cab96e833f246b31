// SPDX-License-Identifier: AGPL-3.0-or-later
/* A Kafka cluster for tests: librdkafka's mock cluster in its own process,
 * speaking the Kafka protocol on random loopback ports. Prints
 * "bootstrap=127.0.0.1:PORT,..." and runs until SIGTERM/SIGINT, or until its
 * stdin closes when stdin is a pipe (so it dies with the test that started it). */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	int brokers = 1, watch_stdin, sfd;
	struct stat st;
	sigset_t mask;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
			brokers = atoi(argv[++i]);
			if (brokers < 1)
				usage();
		} else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
			i++; /* created once the cluster is up */
		} else {
			usage();
		}
	}

	/* Signals arrive through a descriptor so the wait is one poll(). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("kafka_mock: signalfd");
		return 1;
	}

	/* The cluster lives inside a client handle that is never used as one. */
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "kafka_mock: %s\n", errstr);
		return 1;
	}
	mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--topic") != 0)
			continue;
		char name[256];
		const char *colon = strrchr(argv[++i], ':');
		int parts = colon ? atoi(colon + 1) : 1;
		size_t n = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);

		if (n == 0 || n >= sizeof(name) || parts < 1)
			usage();
		memcpy(name, argv[i], n);
		name[n] = '\0';
		rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, 1);
		if (err) {
			fprintf(stderr, "kafka_mock: topic %s: %s\n", name, rd_kafka_err2str(err));
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 1;
		}
	}
	printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	/* Only a pipe or socket on stdin ties our life to the parent's: a
	 * background job's /dev/null would end us at once. */
	watch_stdin = fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	for (;;) {
		struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
		char buf[256];

		if (poll(fds, watch_stdin ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents)
			break;
		if (watch_stdin && fds[1].revents) {
			ssize_t r = read(0, buf, sizeof(buf));
			if (r <= 0 && !(r < 0 && errno == EINTR))
				break;
		}
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
