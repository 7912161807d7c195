// SPDX-License-Identifier: GPL-2.0
/*
 * tcpsend - the user-space side of tools/gen-vmcores.sh's tcpskb trigger, built static on
 * the host (gcc -static) and run in the guest's busybox initramfs.
 *
 *   tcpsend sink PORT               listen on 0.0.0.0:PORT, accept, read until EOF
 *   tcpsend send DEV IP PORT SIZE   connect to IP:PORT through DEV (SO_BINDTODEVICE),
 *                                   print what the process knows of itself and of the
 *                                   socket, then write SIZE bytes on it
 *
 * The record that `send` prints before writing is one line on stdout (the serial console)
 * and, when /dev/kmsg can be opened, the same line in the kernel log, so that the dump's
 * own log names the process:
 *   tcpskb: pid=N comm=NAME fd=N ino=N local=IP:PORT remote=IP:PORT dev=DEV len=SIZE
 * ino is the socket's inode number (the N of /proc/PID/fd/FD -> socket:[N]).
 * The write is expected never to return: tcpskb.ko corrupts the segment and the kernel
 * BUGs in __skb_checksum on the transmit path, inside this process's write().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: tcpsend sink PORT | tcpsend send DEV IP PORT SIZE\n");
	return 2;
}

static int sink(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char buf[4096];
	int one = 1, s, c;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0) {
		perror("tcpsend sink: listen");
		return 1;
	}
	printf("tcpsend: sink pid=%d listening on port %d\n", getpid(), port);
	fflush(stdout);
	for (;;) {
		c = accept(s, NULL, NULL);
		if (c < 0) {
			perror("tcpsend sink: accept");
			return 1;
		}
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
}

static void addr(const struct sockaddr_in *a, char *out, size_t n)
{
	char ip[INET_ADDRSTRLEN] = "?";

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(out, n, "%s:%u", ip, ntohs(a->sin_port));
}

static int send_one(const char *dev, const char *ip, int port, int size)
{
	struct sockaddr_in r = { .sin_family = AF_INET, .sin_port = htons(port) }, l;
	socklen_t len = sizeof(l);
	char comm[17] = "", local[32], remote[32], line[256], *payload;
	struct stat st;
	int s, i, k, n;

	if (inet_pton(AF_INET, ip, &r.sin_addr) != 1 || size <= 0 || size > 1 << 20)
		return usage();
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev) + 1) < 0) {
		perror("tcpsend send: socket");
		return 1;
	}
	/* the sink may not listen yet: try for about 10 s */
	for (i = 0; connect(s, (struct sockaddr *)&r, sizeof(r)) < 0; i++) {
		if ((errno != ECONNREFUSED && errno != ENETUNREACH) || i == 100) {
			perror("tcpsend send: connect");
			return 1;
		}
		usleep(100000);
		close(s);
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev) + 1) < 0) {
			perror("tcpsend send: socket");
			return 1;
		}
	}
	if (getsockname(s, (struct sockaddr *)&l, &len) < 0 || fstat(s, &st) < 0) {
		perror("tcpsend send: getsockname");
		return 1;
	}
	prctl(PR_GET_NAME, comm);
	addr(&l, local, sizeof(local));
	addr(&r, remote, sizeof(remote));
	n = snprintf(line, sizeof(line),
		     "tcpskb: pid=%d comm=%s fd=%d ino=%lu local=%s remote=%s dev=%s len=%d\n",
		     getpid(), comm, s, (unsigned long)st.st_ino, local, remote, dev, size);
	fputs(line, stdout);
	fflush(stdout);
	k = open("/dev/kmsg", O_WRONLY);
	if (k >= 0) {
		if (write(k, line, n) < 0)
			perror("tcpsend send: /dev/kmsg");
		close(k);
	}
	payload = malloc(size);
	if (!payload)
		return 1;
	for (i = 0; i < size; i++)
		payload[i] = 'a' + i % 26;
	n = write(s, payload, size);
	printf("tcpsend: write returned %d: no BUG\n", n);
	fflush(stdout);
	sleep(2);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return sink(atoi(argv[2]));
	if (argc == 6 && strcmp(argv[1], "send") == 0)
		return send_one(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	return usage();
}
