/*
 * The configuration tree of bhyve_config(5).
 *
 * Every command-line option becomes one or more nodes of a tree named by
 * dotted keys ("cpus", "memory.size", "pci.0.31.0.device").  Internal nodes
 * have no value; only leaves do, and every value is a string.  Values may
 * refer to other leaves as "%(key)" (key is a full dotted key from the root)
 * and "%%" stands for one '%'; the reference is replaced when the value is
 * read, not when it is set.  A '%' not followed by '(' or '%' is literal.
 *
 * Keys: components separated by '.', each non-empty and made of printable
 * ASCII other than blank, '.', '=', '#', '%', '(' and ')'; at most
 * CONFIG_KEY_MAX bytes in all.  Names compare case-sensitively.
 * Values: any bytes but control characters (tab is allowed), not starting
 * with a blank, at most CONFIG_VALUE_MAX bytes (so every tree can be
 * written by config_dump() and read back by config_load_file()).
 *
 * Children are kept sorted: names made only of digits first, in numeric
 * order ("2" before "10"), then the rest in byte order.
 *
 * Errors: -EINVAL malformed key, value or text; -ENOTDIR a key passes
 * through a leaf ("a.b" when "a" has a value); -EISDIR a value for a node
 * that has children; -ENOENT no such key; -ELOOP a %(key) loop or more
 * than CONFIG_EXPAND_DEPTH nested references; -E2BIG an expansion longer
 * than CONFIG_VALUE_MAX; -EEXIST a PCI slot given twice; -ENOMEM.
 *
 * Locking: every call takes the tree's own (recursive) lock, so readers on
 * several threads are safe.  Strings returned by config_get() and friends
 * are owned by the tree and stay valid until the tree is next modified
 * (any config_set*, config_parse_option, config_load_file) or freed.
 */
#ifndef BHYVE_CONFIG_H
#define BHYVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "parse.h"

#define CONFIG_KEY_MAX	    255
#define CONFIG_VALUE_MAX    65536
#define CONFIG_EXPAND_DEPTH 32

struct config;

struct config *config_new(void);
void config_free(struct config *c);

/*
 * Set key to value, creating the nodes on the way; a later set of the same
 * key replaces the value, as bhyve's "last one wins".
 */
int config_set(struct config *c, const char *key, const char *value);
/* As config_set(), but leaves an existing value alone (returns 0). */
int config_set_default(struct config *c, const char *key, const char *value);

/*
 * The value of key with %(key) references expanded, or NULL when the key
 * is unset, is not a leaf, or cannot be expanded (that last case is logged
 * with log_warnx, naming the key).
 */
const char *config_get(const struct config *c, const char *key);
/* As config_get(), with the reason as an errno and no message. */
int config_get_value(const struct config *c, const char *key, const char **out);
/* The raw value, without expansion (NULL when unset). */
const char *config_get_raw(const struct config *c, const char *key);

/*
 * Typed reads.  An unset key gives dflt and returns 0; a value that is not
 * of the type gives -EINVAL (out untouched).  Booleans per parse_bool(),
 * integers per parse_uint() (-ERANGE above max).
 */
int config_get_bool(const struct config *c, const char *key, bool dflt, bool *out);
int config_get_uint(const struct config *c, const char *key, unsigned long long dflt,
		    unsigned long long max, unsigned long long *out);

/*
 * The vCPU topology from the keys cpus, sockets, cores, threads, maxcpus,
 * completed and checked by parse_topology_complete() (bhyve's rules:
 * "cpus=4" alone is 4 sockets of 1 core of 1 thread; otherwise cpus must
 * equal sockets * cores * threads).  A key set to 0 or to something that is
 * not a number is -EINVAL.
 */
int config_get_topology(const struct config *c, struct parse_topology *t);

/*
 * -o "key=value": split at the first '='.  No '=', or a blank next to it,
 * is -EINVAL.
 */
int config_parse_option(struct config *c, const char *kv);

/*
 * -k file, bhyve(8): one "key=value" per line, no blanks around the key or
 * the '='; the value runs to the end of the line (a CR before the LF is
 * dropped).  Blank lines and lines whose first non-blank character is '#'
 * are ignored.  On error err gets "line N: reason" (or the reason the file
 * could not be read) and the lines before N stay applied.  Returns 0, a
 * negative errno from open/read, -EINVAL for a malformed line, or -EISDIR /
 * -ENOTDIR when a line's key clashes with an earlier one (as config_set).
 */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/*
 * Write every leaf as "key=raw value\n" in tree order (sorted as above),
 * references unexpanded, so config_load_file() rebuilds the same tree.
 * Returns 0 or -EIO.
 */
int config_dump(const struct config *c, FILE *f);

/*
 * Call fn for each child of the node named prefix (NULL or "" is the root)
 * in sorted order: name is the child's own name ("31" for prefix "pci.0"),
 * value its expanded value, or NULL for a child that has children.  A
 * non-zero return from fn stops the walk and is returned.  -ENOENT when
 * prefix does not exist, -ENOTDIR when it is a leaf.  fn may read the tree
 * but must not modify it.
 */
int config_foreach_child(const struct config *c, const char *prefix,
			 int (*fn)(const char *name, const char *value, void *arg), void *arg);

/*
 * -s "[bus:]slot[:func],emulation[,conf]" (bhyve(8)).  Stores
 * pci.B.S.F.device=emulation (the name exactly as given) and translates
 * conf into keys under pci.B.S.F the way bhyve's per-device legacy parsers
 * do.  conf is a comma list; in every form an item "k=v" sets k (a dotted
 * key relative to the device node) and a bare word w sets w=true
 * ("ro", "nocache", "wait"), except the first bare item for:
 *   virtio-blk, nvme, uart, virtio-input  -> path
 *   virtio-net, e1000                     -> backend   ("tap0")
 *   virtio-scsi                           -> dev
 *   passthru     "pptN" -> pptdev; "B/S/F" or "pciB:S:F" -> bus, slot, func
 *   virtio-9p    first item "share=/path" -> sharename=share, path=/path
 *   ahci-hd, ahci-cd  -> port.0.type=hd|cd, port.0.path; the other items
 *                        go under port.0
 *   ahci         items "hd:/path" / "cd:/path" open port.0, port.1, ...
 *                (type and path); other items go under the last port
 *   xhci         each bare item is a USB device: slot.1.device, slot.2...
 * Empty items are -EINVAL.  A slot already configured is -EEXIST.  All or
 * nothing: on error the tree is unchanged.
 */
int config_set_pci_slot(struct config *c, const char *optarg);

/*
 * -l "lpcdev[,conf]" (bhyve(8), bhyve_config(5) "LPC Device Settings"):
 *   comN,backend            -> lpc.comN.path=backend (stdio, a tty, tcp=...)
 *   bootrom,romfile[,vars]  -> lpc.bootrom=romfile, lpc.bootvars=vars
 *   fwcfg,bhyve|qemu        -> lpc.fwcfg (another flavour is -EINVAL)
 *   pc-testdev              -> lpc.pc-testdev=true (-EEXIST when set already)
 *   tpm,type,path[,k=v...]  -> lpc.tpm.type, lpc.tpm.path, lpc.tpm.k
 * A missing backend/romfile/type/path, or conf where none is taken, is
 * -EINVAL.  All or nothing, as config_set_pci_slot().
 */
int config_set_lpc_device(struct config *c, const char *optarg);

/*
 * -f "[name=]NAME,string=DATA" or "[name=]NAME,file=PATH" (bhyve(8)): a
 * file of QEMU's fw_cfg interface.  Stores fw_cfg.N.name=NAME and
 * fw_cfg.N.string=DATA or fw_cfg.N.file=PATH, N one past the highest index
 * in use.  -EINVAL malformed (no comma, empty name or path, neither
 * string= nor file=, a name or value the tree cannot hold), -ENAMETOOLONG a
 * name longer than CONFIG_FWCFG_NAME_MAX, -EEXIST a name given before.
 * The file itself is not opened here.
 */
#define CONFIG_FWCFG_NAME_MAX 55
int config_set_fwcfg_file(struct config *c, const char *optarg);

#endif
