/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TCS guide's confirmations: "QUESTION (y|n): ", answered on the terminal. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tpmctl.h"

int
tpmctl_confirm(Tpmctl *ctl, const TpmctlRequest *req, const char *question)
{
	char line[64];

	if (req->yes)
		return TPMCTL_EXIT_OK;
	if (!ctl->interactive || !ctl->ask_password)
		return tpmctl_fail(ctl, TPMCTL_EXIT_DECLINED, "tpmctl.NotConfirmed",
				   "%s needs confirmation, and there is no terminal to ask on; "
				   "give %s to proceed", req->command,
				   ctl->front == TPMCTL_FRONT_TPMCTL ? "--yes" : "yes");
	for (;;) {
		/* with --json, stdout carries only the document */
		FILE *out = ctl->json ? stderr : stdout;

		fflush(stdout);
		fprintf(out, "%s (y|n): ", question);
		fflush(out);
		if (!fgets(line, sizeof(line), stdin))
			break;
		g_strstrip(line);
		if (g_ascii_strcasecmp(line, "y") == 0 || g_ascii_strcasecmp(line, "yes") == 0)
			return TPMCTL_EXIT_OK;
		if (g_ascii_strcasecmp(line, "n") == 0 || g_ascii_strcasecmp(line, "no") == 0)
			break;
	}
	return tpmctl_fail(ctl, TPMCTL_EXIT_DECLINED, "tpmctl.NotConfirmed", "%s: not confirmed",
			   req->command);
}
