/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tpmadm: see tpmctl.h; the front end picks the command-line syntax and the output. */
#include "tpmctl.h"

int
main(int argc, char **argv)
{
	return tpmctl_main(TPMCTL_FRONT_TPMADM, argc, argv);
}
