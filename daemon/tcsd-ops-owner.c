/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Ownership-class functions that need more than the schema: TakeOwnership, MakeIdentity. */
#include "config.h"

#include "tcs-key.h"
#include "tcs-types.h"
#include "tcsd-dispatch.h"
#include "tcsd-ps.h"
#include "tcsd-tpm.h"

/*
 * After the TPM took ownership, register the new SRK in system storage the
 * way TrouSerS does (modulus zeroed: the public SRK is not readable by
 * default), so libtspi's LoadKeyByUUID(SRK) works at once.
 */
static void
register_srk(TcsdDaemon *d, const guint8 *rsp, gsize len)
{
	_cleanup_key_ TcsKey k = {0};
	size_t used = 0;
	TcsUuid null_uuid = {0};

	if (len < 10 || tcs_key_parse(rsp + 10, len - 10, &k, &used) < 0) {
		g_warning("TakeOwnership: cannot parse the new SRK, not registering it");
		return;
	}
	tcs_key_zero_modulus(&k);
	(void)tcs_ps_remove(&d->ps, &TCS_UUID_SRK);
	if (tcsd_ps_register(d, &TCS_UUID_SRK, &null_uuid, k.raw, k.raw_len, NULL, 0, NULL))
		g_warning("TakeOwnership: the SRK could not be written to %s", d->ps_path);
}

guint32
tcsd_op_take_ownership(TcsdRequest *rq)
{
	TcsSchemaRequest st;
	guint32 rc = tcsd_run_passthrough_full(rq, &st);

	explicit_bzero(&st, sizeof(st));
	if (rc == 0) {
		/* the management plane logs its own, with what it did next */
		if (!rq->peer->internal)
			g_message("TPM ownership taken by %s (uid %ld)", rq->peer->addr,
				  rq->peer->uid_known ? (long)rq->peer->uid : -1L);
		register_srk(rq->d, rq->d->tpm->rsp, rq->d->tpm->rsp_len);
	}
	return rc;
}

static void
put_credential(TcsdRequest *rq, const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;

	if (path && !g_file_get_contents(path, &data, &len, NULL))
		len = 0;
	if (len > 64 * 1024)
		len = 0;
	tcs_packet_put_blob(rq->out, data, (guint32)len);
}

guint32
tcsd_op_make_identity(TcsdRequest *rq)
{
	TcsdConfig *conf = rq->d->config;
	guint32 rc = tcsd_run_passthrough(rq);

	if (rc)
		return rc;
	/* the credentials a privacy CA wants, from the configured files */
	put_credential(rq, conf->endorsement_cred);
	put_credential(rq, conf->platform_cred);
	put_credential(rq, conf->conformance_cred);
	return 0;
}
