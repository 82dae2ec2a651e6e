/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A polkit text agent for interactive callers, as systemctl runs one:
 * pkttyagent --process OUR_PID --notify-fd N --fallback, and we wait until it
 * closes N, which it does once registered, so that polkit can reach it when
 * the call that needs authentication arrives. Without pkttyagent we go on;
 * polkit then refuses what it would have asked about.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tpmctl.h"

#define AGENT_START_TIMEOUT_MS 10000

void
tpmctl_agent_start(Tpmctl *ctl)
{
	g_autofree char *path = NULL;
	char notify[16], pid[16];
	int fds[2];
	pid_t child;

	/* root needs no polkit (tcsd authorises it itself); nobody to ask without a terminal */
	if (ctl->agent_tried || !ctl->ask_password || !ctl->interactive || geteuid() == 0)
		return;
	ctl->agent_tried = true;
	path = g_find_program_in_path("pkttyagent");
	if (!path)
		return;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return;
	g_snprintf(notify, sizeof(notify), "%d", fds[1]);
	g_snprintf(pid, sizeof(pid), "%d", (int)getpid());
	fflush(stdout);
	fflush(stderr);
	child = fork();
	if (child < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (child == 0) {
		/* the agent inherits only the notify end and the terminal */
		if (fcntl(fds[1], F_SETFD, 0) < 0)
			_exit(127);
		/* an archive on stdout: the agent's prompt must not land in it */
		if (ctl->stdout_is_data && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		execl(path, path, "--process", pid, "--notify-fd", notify, "--fallback", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	{
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		int r;

		do
			r = poll(&p, 1, AGENT_START_TIMEOUT_MS);
		while (r < 0 && errno == EINTR);
	}
	close(fds[0]);
	ctl->agent_pid = child;
}

void
tpmctl_agent_stop(Tpmctl *ctl)
{
	if (ctl->agent_pid <= 0)
		return;
	kill(ctl->agent_pid, SIGTERM);
	while (waitpid(ctl->agent_pid, NULL, 0) < 0 && errno == EINTR)
		;
	ctl->agent_pid = 0;
}
