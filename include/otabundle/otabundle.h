/* SPDX-License-Identifier: Apache-2.0 */
/* otabundle/otabundle.h - libotabundle's whole public interface: the
 * verify side (verify.h: read, check, unpack; all an updater needs) and
 * the build side (build.h: manifests, build, sign). Programs that only
 * verify include <otabundle/verify.h> alone.
 */
#ifndef OTABUNDLE_OTABUNDLE_H
#define OTABUNDLE_OTABUNDLE_H

#include "otabundle/export.h"
#include "otabundle/error.h"
#include "otabundle/verify.h"
#include "otabundle/build.h"

#endif
