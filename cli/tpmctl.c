/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tpmctl: see tpmctl.h; the front end picks the command-line syntax and the output. */
#include "tpmctl.h"

int
main(int argc, char **argv)
{
	return tpmctl_main(TPMCTL_FRONT_TPMCTL, argc, argv);
}
