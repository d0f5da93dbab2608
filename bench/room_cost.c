/* room_cost: what a private room costs, measured on this machine: the time
 * to join (Argon2id at the cost `udpkit chat --room` uses), and the CPU per
 * message of sealing and opening a chat-sized datagram against a plain
 * memcpy of it. Prints one line per figure; `make bench` runs it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "udpkit/room.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	static const char msg[] =
	    "1_lbt6_0#128#000000000000#0#0#0#4001#9:1764518400:alice:alicehost:"
	    "288:see you at the 3 pm meeting in room 4, bring the slides";
	static uint8_t d[2048], plain[2048];
	struct uk_room_key *k;
	struct uk_room_inner in = {.kind = UK_ROOM_KIND_DATA, .time_ms = 1};
	struct uk_room_inner out;
	const int rounds = 3, n = 200000;
	double best = 1e9;

	for (int i = 0; i < rounds; i++) {
		double t0 = now_s();
		if (uk_room_key_derive(&k, "bench", "correct horse battery staple", 28,
				       UK_ROOM_COST_MODERATE) < 0) {
			fprintf(stderr, "room_cost: key derivation failed\n");
			return 1;
		}
		double t = now_s() - t0;
		best = t < best ? t : best;
		uk_room_key_free(k);
	}
	printf("join (Argon2id, 256 MiB, 3 passes): %.0f ms (best of %d)\n", best * 1e3, rounds);

	if (uk_room_key_derive(&k, "bench", "x", 1, UK_ROOM_COST_TEST) < 0)
		return 1;
	in.payload = (const uint8_t *)msg;
	in.payload_len = sizeof(msg) - 1;
	double c0 = cpu_s();
	for (int i = 0; i < n; i++) {
		in.seq = (uint64_t)i + 1;
		long len = uk_room_seal(k, &in, 0, d, sizeof(d));
		if (len < 0 || uk_room_open(k, d, (size_t)len, plain, sizeof(plain), &out) != 0)
			return 1;
	}
	double sealed = (cpu_s() - c0) / n;
	c0 = cpu_s();
	for (int i = 0; i < n; i++) {
		memcpy(d, msg, sizeof(msg));
		__asm__ volatile("" : : "r"(d) : "memory");
	}
	double copied = (cpu_s() - c0) / n;
	printf("seal + open of a %zu-byte message: %.2f us CPU (a plain copy: %.3f us)\n",
	       sizeof(msg) - 1, sealed * 1e6, copied * 1e6);
	uk_room_key_free(k);
	return 0;
}
