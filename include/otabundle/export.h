/* SPDX-License-Identifier: Apache-2.0 */
/* otabundle/export.h - which symbols libotabundle exports.
 *
 * The library is built with -fvisibility=hidden: only declarations marked
 * OAB_API are part of its ABI (and of libotabundle.map, which versions
 * them). Everything else in src/ is private even in the shared object.
 */
#ifndef OTABUNDLE_EXPORT_H
#define OTABUNDLE_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define OAB_API __attribute__((visibility("default")))
#else
#define OAB_API
#endif

#endif
