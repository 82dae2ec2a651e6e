/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* KeyControlOwner: the TPM command, plus the owner-evict UUID TrouSerS answers with. */
#include "config.h"

#include "tcs-schema.h"
#include "tcs-ps.h"
#include "tcs-types.h"
#include "tcs-uuid.h"
#include "tcsd-dispatch.h"

/* TSS_UUID_OWNEREVICT(i): {0, 0, 0, 0, 0, {0, 0, 0, 0, 1, i}} */
static TcsUuid
owner_evict_uuid(guint8 i)
{
	TcsUuid u = TCS_UUID_NODE(0);

	u.node[4] = 1;
	u.node[5] = i;
	return u;
}

/*
 * Like TrouSerS, the first OWNEREVICT UUID no key is known by. TrouSerS then
 * ties it to the key in its cache; tcsd does not, so the UUID is informative
 * only (libtspi merely hands it to the caller).
 */
static guint32
next_owner_evict_uuid(TcsdDaemon *d, TcsUuid *ret)
{
	char str[TCS_UUID_STRING_SIZE];

	for (guint i = 0; i <= 255; i++) {
		TcsUuid u = owner_evict_uuid((guint8)i);

		tcs_uuid_to_string(&u, str);
		if (!g_hash_table_contains(d->uuid_keys, str) && !tcs_ps_find(&d->ps, &u)) {
			*ret = u;
			return 0;
		}
	}
	return TCS_ERR(TSS_E_FAIL);
}

guint32
tcsd_op_key_control_owner(TcsdRequest *rq)
{
	TcsUuid uuid;
	guint32 rc = next_owner_evict_uuid(rq->d, &uuid);

	if (rc == 0)
		rc = tcsd_run_passthrough(rq);
	if (rc == 0)
		tcs_packet_put_uuid(rq->out, &uuid);
	return rc;
}
