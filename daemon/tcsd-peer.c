/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A loopback TCP peer is a process on this machine. The kernel's socket
 * diagnostics (NETLINK_SOCK_DIAG / inet_diag) tell which uid owns the
 * client's end of the connection, which is what lets owner-class ordinals be
 * restricted to root and tss although the protocol carries no credentials.
 *
 * The answer is trusted only while the client's socket is provably alive:
 * once the client has closed it (FIN_WAIT*, TIME_WAIT, orphaned) the kernel
 * reports uid 0 and inode 0 for it, so a lookup made then would take anyone
 * for root. The uid is therefore looked up once, at accept, and accepted only
 * for an ESTABLISHED socket that still has an inode; otherwise it stays
 * unknown, and an unknown peer never passes the owner check.
 */
#include "config.h"

#include "tcsd-peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static gboolean
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return TRUE;
		/* ::ffff:127.x.y.z on a dual-stack socket */
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
	}
	return FALSE;
}

/* Ask the kernel for the owner of the socket whose local end is the peer's address. */
static gboolean
lookup_uid(const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
	   uid_t *uid)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {0};
	struct sockaddr_nl nladdr = {.nl_family = AF_NETLINK};
	guint8 buf[8192];
	gboolean found = FALSE;
	ssize_t n;
	int fd;

	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = local->ss_family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = 1u << TCP_ESTABLISHED;
	/* the client's socket: its source is our peer, its destination is us */
	if (local->ss_family == AF_INET) {
		const struct sockaddr_in *l = (const void *)local, *r = (const void *)remote;
		msg.req.id.idiag_sport = r->sin_port;
		msg.req.id.idiag_dport = l->sin_port;
		memcpy(msg.req.id.idiag_src, &r->sin_addr, 4);
		memcpy(msg.req.id.idiag_dst, &l->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *l = (const void *)local, *r = (const void *)remote;
		msg.req.id.idiag_sport = r->sin6_port;
		msg.req.id.idiag_dport = l->sin6_port;
		memcpy(msg.req.id.idiag_src, &r->sin6_addr, 16);
		memcpy(msg.req.id.idiag_dst, &l->sin6_addr, 16);
	}
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return FALSE;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&nladdr, sizeof(nladdr)) < 0) {
		close(fd);
		return FALSE;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	close(fd);
	for (struct nlmsghdr *h = (void *)buf; n > 0 && NLMSG_OK(h, (size_t)n);
	     h = NLMSG_NEXT(h, n)) {
		const struct inet_diag_msg *m;

		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			break;
		m = NLMSG_DATA(h);
		/* a closed or closing socket answers uid 0: it identifies nobody */
		if (m->idiag_state != TCP_ESTABLISHED || m->idiag_inode == 0)
			break;
		*uid = m->idiag_uid;
		found = TRUE;
		break;
	}
	return found;
}

/* Per-peer quotas count a local user by uid and a remote peer by address (any port). */
static void
set_quota_key(TcsdPeer *peer, const char *host)
{
	if (!peer->local)
		g_snprintf(peer->quota_key, sizeof(peer->quota_key), "addr %s", host);
	else if (peer->uid_known)
		g_snprintf(peer->quota_key, sizeof(peer->quota_key), "uid %lu",
			   (unsigned long)peer->uid);
	else
		/* no identity: all such peers share one (small) allowance */
		g_strlcpy(peer->quota_key, "uid ?", sizeof(peer->quota_key));
}

void
tcsd_peer_identify(int fd, TcsdPeer *peer)
{
	struct sockaddr_storage local = {0}, remote = {0};
	socklen_t llen = sizeof(local), rlen = sizeof(remote);
	char host[INET6_ADDRSTRLEN] = "?";
	guint16 port = 0;

	peer->local = FALSE;
	peer->uid_known = FALSE;
	g_strlcpy(peer->addr, "unknown", sizeof(peer->addr));
	g_strlcpy(peer->quota_key, "addr ?", sizeof(peer->quota_key));
	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&remote, &rlen) < 0)
		return;
	if (remote.ss_family == AF_INET) {
		const struct sockaddr_in *r = (const void *)&remote;
		inet_ntop(AF_INET, &r->sin_addr, host, sizeof(host));
		port = ntohs(r->sin_port);
	} else if (remote.ss_family == AF_INET6) {
		const struct sockaddr_in6 *r = (const void *)&remote;
		inet_ntop(AF_INET6, &r->sin6_addr, host, sizeof(host));
		port = ntohs(r->sin6_port);
	} else if (remote.ss_family == AF_UNIX) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		peer->local = TRUE;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			peer->uid = cred.uid;
			peer->uid_known = TRUE;
		}
		g_strlcpy(peer->addr, "unix", sizeof(peer->addr));
		set_quota_key(peer, host);
		return;
	}
	g_snprintf(peer->addr, sizeof(peer->addr), "%s:%u", host, port);
	peer->local = is_loopback(&remote);
	/* now, while the connection is certainly alive: later the client may have closed */
	if (peer->local && (remote.ss_family == AF_INET || remote.ss_family == AF_INET6))
		peer->uid_known = lookup_uid(&local, &remote, &peer->uid);
	set_quota_key(peer, host);
}

gboolean
tcsd_peer_is_owner(const TcsdPeer *peer, const TcsdConfig *config)
{
	return peer->internal ||
	       (peer->local && peer->uid_known && tcsd_config_is_owner_uid(config, peer->uid));
}
