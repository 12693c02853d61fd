/* SPDX-License-Identifier: Apache-2.0 */
#define _POSIX_C_SOURCE 200809L
/* progress.c - a progress line on stderr when it is a terminal: phase,
 * bytes done of total, rate and time left. Silent otherwise. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(struct cli_progress *p, int quiet)
{
	memset(p, 0, sizeof(*p));
	p->enabled = !quiet && isatty(STDERR_FILENO);
}

void cli_progress_cb(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	struct cli_progress *p = arg;
	double t = now_s(), rate, left;

	if (!p->enabled)
		return;
	if (strcmp(p->phase, phase) != 0) {
		snprintf(p->phase, sizeof(p->phase), "%s", phase);
		p->start = t;
		p->last = 0;
	}
	if (done < total && t - p->last < 0.1)
		return;
	p->last = t;
	rate = t > p->start ? (double)done / (t - p->start) : 0;
	left = rate > 0 && total > done ? (double)(total - done) / rate : 0;
	fprintf(stderr, "\r\033[K%-20.20s %8.1f / %.1f MiB  %6.1f MiB/s  ETA %3.0fs", phase,
		(double)done / 1048576.0, (double)total / 1048576.0, rate / 1048576.0, left);
	p->shown = 1;
}

void cli_progress_done(struct cli_progress *p)
{
	if (p->enabled && p->shown)
		fprintf(stderr, "\r\033[K");
	p->shown = 0;
}
