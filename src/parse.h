/*
 * Value parsers for bhyve(8)'s command-line options.
 *
 * Every parser takes untrusted text and returns 0 on success or a negative
 * errno: -EINVAL for text that does not have the expected form (including
 * NULL, empty strings, signs, surrounding blanks and trailing junk) and
 * -ERANGE for well-formed numbers outside the accepted range.  Outputs are
 * written only on success.  No parser allocates memory or logs: the caller
 * names the option and the value in its message.
 */
#ifndef BHYVE_PARSE_H
#define BHYVE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest vCPU count any -c field may ask for; the host may allow fewer. */
#define PARSE_MAX_CPUS 1024

/*
 * An unsigned integer: decimal digits, or "0x"/"0X" and hex digits.  A
 * leading zero does not mean octal ("010" is ten).  Values above max give
 * -ERANGE.
 */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* bhyve_config(5) booleans, case-insensitive: true/on/yes/1, false/off/no/0. */
int parse_bool(const char *s, bool *out);

/*
 * -m memsize, as bhyve's vm_parse_memsize() reads it:
 *  - a plain number (decimal or 0x hex) below 1 MiB is a count of megabytes
 *    ("512" is 512 MiB); a plain number of 1048576 or more is a byte count
 *    (kept by bhyve for backward compatibility);
 *  - otherwise a number and one expand_number(3) unit, upper or lower case:
 *    B (bytes), K, M, G, T, P, E (powers of 1024).  "512M", "2g", "1T".
 * Anything after the unit ("512MB") is -EINVAL.  A size of zero is -EINVAL;
 * a size that does not fit in 64 bits is -ERANGE.
 */
int parse_size(const char *s, uint64_t *bytes);

/*
 * vCPU topology.  In a parse_topology handed to parse_topology_complete(),
 * a field of 0 means "not given".
 */
struct parse_topology {
	unsigned cpus;
	unsigned sockets;
	unsigned cores;
	unsigned threads;
	unsigned maxcpus;
};

/*
 * -c, bhyve(8): "N" or "[[cpus=]n][,sockets=n][,cores=n][,threads=n]";
 * "maxcpus=n" is accepted too.  A setting given twice takes the last value.
 * An empty string is one vCPU, as in bhyve.  Empty items (",,"), unknown
 * names and values of 0 are -EINVAL; values above PARSE_MAX_CPUS are
 * -ERANGE.  Missing values are filled by parse_topology_complete().
 */
int parse_cpus(const char *s, struct parse_topology *t);

/*
 * Fill in and check a topology the way bhyve does (fields of 0 are "not
 * given"):
 *  - only cpus given: sockets = cpus, cores = threads = 1;
 *  - otherwise missing sockets/cores/threads are 1, and a missing cpus is
 *    sockets * cores * threads;
 *  - cpus must equal sockets * cores * threads (bhyve(8): "numcpus must
 *    equal the product"), else -EINVAL;
 *  - maxcpus defaults to cpus and may not be below it (-EINVAL);
 *  - any count above PARSE_MAX_CPUS, the product included, is -ERANGE.
 * Nothing given at all is one vCPU.
 */
int parse_topology_complete(struct parse_topology *t);

/*
 * -p: "vcpu:hostcpu" sets both and *old_form = false.  The bhyve 10 form
 * "n" (vCPU i runs on host CPU n + i) sets *vcpu = 0, *hostcpu = n and
 * *old_form = true; the caller applies the offset per vCPU.  vcpu must be
 * below PARSE_MAX_CPUS, hostcpu below CPU_SETSIZE (1024), else -ERANGE.
 */
int parse_pin(const char *s, int *vcpu, int *hostcpu, bool *old_form);

/*
 * -U: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case).  out gets
 * the RFC 4122 byte order: the bytes in the order the digits are written.
 * SMBIOS 2.6+ (§7.2.1) stores the first three fields little-endian; the
 * SMBIOS writer does that swap.
 */
int parse_uuid(const char *s, uint8_t out[16]);

/*
 * -s slot: "slot", "slot:func" or "bus:slot:func", decimal; bus 0-255,
 * slot 0-31, func 0-7 (bhyve(8)).  Missing bus and func are 0.
 */
int parse_pci_slot(const char *s, int *bus, int *slot, int *func);

/*
 * -G "[w][addr:]port": a leading 'w' sets *wait (as in bhyve, even when an
 * address follows, so "-G www:1" is a wait for address "ww").  The address
 * is the text before the last ':'; "[v6addr]" loses its brackets.  addr
 * gets "" when no address was given, so the caller keeps gdb.address's
 * value.  port is 1-65535.  An address that does not fit in addrlen is
 * -ERANGE.
 */
int parse_gdb(const char *s, bool *wait, char *addr, size_t addrlen, int *port);

/*
 * -l "lpcdev[,conf]": lpcdev is one of com1, com2, com3, com4, bootrom,
 * fwcfg, pc-testdev, tpm, matched case-insensitively as bhyve does, and
 * written to name in lower case.  *conf points into s just past the first
 * comma, or is NULL when there is none; "com1," (empty conf) is -EINVAL.
 * "help" is not a device: the caller handles "-l help" first.
 */
int parse_lpc_device(const char *s, char *name, size_t namelen, const char **conf);

#endif
