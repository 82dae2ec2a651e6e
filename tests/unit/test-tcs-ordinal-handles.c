/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TPM ordinals' handle layouts (tcs_tpm_ordinal_handles): known TPM 1.2
 * facts for the commands a transport session may wrap, one layout for every
 * TPM ordinal a TCSD function sends, none for anything else.
 */
#include <glib.h>

#include "tcs-ordinal.h"
#include "tcs-types.h"

static void
test_known(void)
{
	static const struct {
		guint32 ord;
		const char *handles;
		unsigned out;
	} known[] = {
		{TPM_ORD_UnBind, "k", 0},
		{TPM_ORD_Sign, "k", 0},
		{TPM_ORD_CertifyKey, "kk", 0},
		{TPM_ORD_CMK_CreateKey, "k", 0},
		{TPM_ORD_KeyControlOwner, "k", 0},
		{TPM_ORD_LoadKey2, "k", 1},
		{TPM_ORD_EvictKey, "k", 0},
		{TPM_ORD_FlushSpecific, "r", 0},
		{TPM_ORD_Terminate_Handle, "a", 0},
		{TPM_ORD_OIAP, "", 0},
		{TPM_ORD_OSAP, "", 0},
		{TPM_ORD_DSAP, "", 0},
		{TPM_ORD_GetRandom, "", 0},
		{TPM_ORD_MakeIdentity, "", 0},
		{TPM_ORD_OwnerReadInternalPub, "", 0},
		{TPM_ORD_NV_ReadValue, "", 0},
		{TPM_ORD_SetTempDeactivated, "", 0},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(known); i++) {
		TcsTpmHandles h;

		g_test_message("TPM ordinal 0x%x", known[i].ord);
		g_assert_true(tcs_tpm_ordinal_handles(known[i].ord, &h));
		g_assert_cmpstr(h.handles, ==, known[i].handles);
		g_assert_cmpuint(h.out_handles, ==, known[i].out);
		g_assert_nonnull(tcs_ordinal_lookup(h.tcsd_ordinal));
	}
}

static void
test_unknown(void)
{
	/* not sent by any TCSD function: a transport may not wrap them */
	static const guint32 unknown[] = {TPM_ORD_SaveContext, TPM_ORD_LoadContext,
					  TPM_ORD_EstablishTransport, TPM_ORD_ExecuteTransport,
					  0, 0xffffffffu};
	TcsTpmHandles h;

	for (gsize i = 0; i < G_N_ELEMENTS(unknown); i++)
		g_assert_false(tcs_tpm_ordinal_handles(unknown[i], &h));
}

static void
test_every_row(void)
{
	for (guint32 n = 1; n < TCSD_ORD_LAST; n++) {
		const TcsOrdinal *o = tcs_ordinal_lookup(n);
		TcsTpmHandles h;

		if (!o || !o->tpm_ordinal || (o->flags & TCS_ORD_STUB))
			continue;
		g_test_message("%s", o->name);
		g_assert_true(tcs_tpm_ordinal_handles(o->tpm_ordinal, &h));
		g_assert_cmpuint(strlen(h.handles), <=, 2);
	}
}

static void
test_capability_areas(void)
{
	g_assert_true(tcs_capability_names_handles(TPM_CAP_HANDLE));
	g_assert_true(tcs_capability_names_handles(TPM_CAP_KEY_HANDLE));
	g_assert_true(tcs_capability_names_handles(TPM_CAP_KEY_STATUS));
	g_assert_false(tcs_capability_names_handles(TPM_CAP_PROPERTY));
	g_assert_false(tcs_capability_names_handles(TPM_CAP_VERSION_VAL));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ordinal-handles/known", test_known);
	g_test_add_func("/ordinal-handles/unknown", test_unknown);
	g_test_add_func("/ordinal-handles/every-row", test_every_row);
	g_test_add_func("/ordinal-handles/capability-areas", test_capability_areas);
	return g_test_run();
}
