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

/* The name an item's member gets in an export: payloads and the SBOM as
 * stored (their member's base name), scripts as content (their item name). */
struct oab_item;
char *oab_swu_member_name(const struct oab_item *it);
/* The sw-description an export of m carries (deterministic for m). */
struct oab_manifest;
int oab_swu_description(const struct oab_manifest *m, char **out, size_t *len,
			struct oab_err *err);

#endif
