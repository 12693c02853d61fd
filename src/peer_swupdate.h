/* SPDX-License-Identifier: Apache-2.0 */
/* peer_swupdate.h - SWUpdate .swu limits (audit and export). */
#ifndef OAB_PEER_SWUPDATE_H
#define OAB_PEER_SWUPDATE_H

#define OAB_SWU_MAX_DESC (1024 * 1024) /* sw-description bytes */
#define OAB_SWU_MAX_MEMBERS 4096       /* cpio members */
#define OAB_SWU_MAX_NAME 255           /* cpio member name bytes */
#define OAB_SWU_MAX_DEPTH 32           /* sw-description nesting */
#define OAB_SWU_MAX_TAIL 65536         /* zero padding after TRAILER!!! */
#define OAB_SWU_MAX_MEMBER 0xffffffffULL /* cpio newc/crc: 8 hex digits of size */

/* Messages of the shared CMS code name otabundle's 'manifest.sig': name
 * 'sw-description.sig' instead. */
struct oab_err;
void oab_swu_sig_name(struct oab_err *err);
/* The name an item's member gets in an export: payloads and the SBOM as
 * stored (their member's base name), scripts as content (their item name). */
struct oab_item;
char *oab_swu_member_name(const struct oab_item *it);
/* export_swupdate.c: the SHA-256 of each of m's members as stored
 * (*out: m->n_items of them, malloc'd), reading the bundle at fd again
 * through the verifying reader where the manifest has only chunk hashes;
 * then the sw-description an export of m carries (deterministic for m). */
struct oab_manifest;
struct oab_verify_opts;
int oab_swu_stored_hashes(int fd, const char *label, const struct oab_verify_opts *vo,
			  const struct oab_manifest *m, unsigned char (**out)[32],
			  struct oab_err *err);
/* Every member of an export of m fits a cpio header (OAB_E_USAGE naming
 * the first that does not). */
int oab_swu_check_sizes(const struct oab_manifest *m, struct oab_err *err);
int oab_swu_description(const struct oab_manifest *m, const unsigned char (*stored)[32],
			char **out, size_t *len, struct oab_err *err);

/* export-manifest --to swupdate: the sw-description an export signs,
 * into c->out_fd (export.c's signing-room writer). */
struct oab_export_ctx;
int oab_export_tbs_swupdate(struct oab_export_ctx *c, struct oab_err *err);

#endif
