/* A small ACPI Machine Language (AML) byte-code builder (ACPI 6.5 §20): just
 * what a definition block describing a simple PC needs -- names, data
 * objects, packages, scopes, devices, methods and resource templates.
 *
 * Objects are appended to a growable buffer.  Scope, Device, Method, Package,
 * Buffer and ResourceTemplate are opened by their aml_*() call and closed by
 * aml_end() (aml_rt_end() for templates); everything emitted in between is
 * their contents, and the PkgLength (and a package's element count) is
 * filled in on closing.  Errors are sticky: after the first one every call
 * is a no-op and aml_data() reports it, so a caller checks once at the end. */
#ifndef BHYVE_FIRMWARE_AML_H
#define BHYVE_FIRMWARE_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml;

struct aml *aml_new(void);
void aml_free(struct aml *a);
/* The byte code built so far and its length; NULL with *err set to the
 * first error (-EINVAL bad name or argument or unbalanced aml_end, -E2BIG a
 * limit of the encoding, -ENOMEM) or to -EINVAL while an object is open. */
const uint8_t *aml_data(const struct aml *a, size_t *len, int *err);

/* ---- Encodings, exposed for tests and for callers with their own buffer ---- */

/* PkgLength (§20.2.4) for len bytes of contents that follow it; the encoded
 * value counts the PkgLength bytes themselves.  Writes 1-4 bytes to out and
 * returns how many, or -E2BIG past the 28-bit limit. */
int aml_pkglength(size_t len, uint8_t out[4]);
/* EISAID("PNP0A03") (§19.6.35): three upper-case letters and four hex digits
 * compressed into the 32-bit value AML stores.  0 or -EINVAL. */
int aml_eisaid_value(const char *id, uint32_t *out);

/* ---- Data objects (§20.2.3) ---- */

/* ZeroOp, OneOp, OnesOp or the smallest of Byte/Word/DWord/QWord prefixes. */
void aml_integer(struct aml *a, uint64_t v);
/* String of ASCII 0x01-0x7F characters. */
void aml_string(struct aml *a, const char *s);
/* EISAID(id) as a DWord integer. */
void aml_eisaid(struct aml *a, const char *id);
/* A NameString used as an object reference, e.g. "\\_SB.PCI0" or "^COM1":
 * optional root '\' or parent '^' prefixes, dot-separated segments of up to
 * four characters ([A-Z_] then [A-Z0-9_]; shorter ones padded with '_'). */
void aml_name_string(struct aml *a, const char *path);

/* ---- Named objects and statements (§20.2.5) ---- */

/* Name(path, <next object>): the object emitted next is the value. */
void aml_name(struct aml *a, const char *path);
/* Return(<next object>). */
void aml_return(struct aml *a);
/* Raw bytes appended as they are (e.g. a Buffer's byte list). */
void aml_bytes(struct aml *a, const void *p, size_t n);

/* ---- Objects with contents, each closed by aml_end() ---- */

void aml_scope(struct aml *a, const char *path);
void aml_device(struct aml *a, const char *path);
/* nargs 0-7; serialized sets the SerializeFlag (sync level 0). */
void aml_method(struct aml *a, const char *path, unsigned nargs, bool serialized);
/* Package(){...}: its element count (at most 255) is counted on closing. */
void aml_package(struct aml *a);
/* Buffer(){...}: contents are raw bytes (aml_bytes); the size is filled in. */
void aml_buffer(struct aml *a);
void aml_end(struct aml *a);

/* ---- ResourceTemplate (§19.3.3, descriptors §6.4) ---- */

/* A Buffer of resource descriptors; aml_rt_end() appends the End Tag with a
 * checksum that makes the descriptors sum to zero, and closes it. */
void aml_rt_begin(struct aml *a);
void aml_rt_end(struct aml *a);
/* IO(Decode16, min, max, align, len) */
void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* FixedIO(base, len): 10-bit decode. */
void aml_rt_fixed_io(struct aml *a, uint16_t base, uint8_t len);
/* IRQNoFlags(){irq}: edge, active high, exclusive.  irq 0-15. */
void aml_rt_irq_noflags(struct aml *a, unsigned irq);
/* Memory32Fixed(ReadWrite or ReadOnly, base, len) */
void aml_rt_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw);
/* Address space descriptors (§6.4.3.5) in the form a bridge uses to describe
 * a window it forwards: ResourceProducer, PosDecode, MinFixed, MaxFixed,
 * granularity 0, no translation, length max - min + 1.  min <= max. */
void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_rt_dword_io(struct aml *a, uint32_t min, uint32_t max);
/* ReadWrite; cacheable selects Cacheable rather than NonCacheable. */
void aml_rt_dword_memory(struct aml *a, uint32_t min, uint32_t max, bool cacheable);
void aml_rt_qword_memory(struct aml *a, uint64_t min, uint64_t max, bool cacheable);

#endif
