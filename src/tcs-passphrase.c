/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tcs-common.h"

void
tcs_passphrase_free(char *secret)
{
	if (!secret)
		return;
	tcs_wipe(secret, strlen(secret));
	free(secret);
}

static int
open_tty(bool *opened)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd >= 0) {
		*opened = true;
		return fd;
	}
	*opened = false;
	return isatty(STDIN_FILENO) ? STDIN_FILENO : -ENOTTY;
}

/* Read up to a newline; one byte at a time so nothing past it is consumed. */
static int
read_line(int fd, char *buf, size_t size, size_t *len)
{
	size_t n = 0;
	bool too_long = false;

	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (n == 0 && !too_long)
				return -ECANCELED;
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = ch;
		else
			too_long = true;
	}
	buf[n] = '\0';
	*len = n;
	return too_long ? -E2BIG : 0;
}

int
tcs_passphrase_prompt(const char *prompt, size_t max_len, char **ret)
{
	struct termios old, quiet;
	bool opened, restore = false;
	size_t size = max_len + 2, len = 0;
	char *buf;
	int fd, rc;

	fd = open_tty(&opened);
	if (fd < 0)
		return fd;
	buf = malloc(size);
	if (!buf) {
		if (opened)
			close(fd);
		return -ENOMEM;
	}
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	(void)!write(opened ? fd : STDERR_FILENO, prompt, strlen(prompt));
	rc = read_line(fd, buf, size, &len);
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (opened)
		close(fd);
	if (rc == 0 && len > max_len)
		rc = -E2BIG;
	if (rc < 0) {
		tcs_wipe(buf, size);
		free(buf);
		return rc;
	}
	*ret = buf;
	return 0;
}

int
tcs_passphrase_get(const TcsPassphraseSource *src, char **ret)
{
	const char *v = src->value;
	char *first = NULL, *second = NULL;
	int rc;

	if (!v && src->env)
		v = getenv(src->env);
	if (v) {
		if (strlen(v) > src->max_len)
			return -E2BIG;
		if (!*v && !src->allow_empty)
			return -EINVAL;
		*ret = strdup(v);
		return *ret ? 0 : -ENOMEM;
	}
	rc = tcs_passphrase_prompt(src->prompt, src->max_len, &first);
	if (rc < 0)
		return rc;
	if (!*first && !src->allow_empty) {
		tcs_passphrase_free(first);
		return -EINVAL;
	}
	if (src->confirm) {
		rc = tcs_passphrase_prompt(src->confirm, src->max_len, &second);
		if (rc == 0 && strcmp(first, second) != 0)
			rc = -EKEYREJECTED;
		tcs_passphrase_free(second);
		if (rc < 0) {
			tcs_passphrase_free(first);
			return rc;
		}
	}
	*ret = first;
	return 0;
}

const char *
tcs_passphrase_strerror(int err)
{
	switch (err) {
	case -E2BIG:
		return "the secret is too long";
	case -ENOTTY:
		return "no secret given and no terminal to ask for one";
	case -EKEYREJECTED:
		return "the secrets do not match";
	case -ECANCELED:
		return "no secret entered";
	case -EINVAL:
		return "the secret must not be empty";
	default:
		return strerror(-err);
	}
}
