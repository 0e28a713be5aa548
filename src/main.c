/* bhyve(8) on Linux/KVM: parse the command line into the configuration tree
 * (bhyve_config(5)), resolve the tree into the VM's options, build the VM
 * and run it.  This is the one place that decides the exit status: 0-3 are
 * the guest's outcome, 64 a malformed command line, 4 any other failure. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "hw/bvm.h"
#include "hw/fwcfg.h"
#include "hw/uart_backend.h"
#include "log.h"
#include "parse.h"
#include "pci/pci.h"
#include "sandbox.h"
#include "vm.h"

#define EX_USAGE   64
#define EX_FAILURE 4

#define DEFAULT_MEMSIZE (256ull << 20)

static const char usage_text[] =
    "Usage: bhyve [-abCDeHhPSuWwxY] [-c [[cpus=]n][,sockets=n][,cores=n][,threads=n]]\n"
    "             [-f [name=]name,string=data|file=path] [-G [w][addr:]port]\n"
    "             [-g port] [-k config_file] [-l lpc_device[,conf]] [-m mem_size]\n"
    "             [-o var=value] [-p vcpu:hostcpu] [-s slot,emulation[,conf]] [-U uuid]\n"
    "             [--kernel kernel [--initrd file] [--cmdline string]] vmname\n"
    "       -a: local APIC in xAPIC mode (the default)\n"
    "       -A: ACPI tables (accepted; see bhyve(8))\n"
    "       -b: bvm console on port 0x220, on stdio\n"
    "       -c: number of vCPUs and their topology\n"
    "       -C: include guest memory in core files\n"
    "       -D: destroy the VM on guest power-off\n"
    "       -e: exit on an unhandled I/O access\n"
    "       -f: add a fw_cfg file (with -l fwcfg,qemu)\n"
    "       -g: bvm debug port 0x224 on TCP 127.0.0.1:port\n"
    "       -G: GDB stub on TCP [w][addr:]port (w: wait for the debugger)\n"
    "       -h: this help\n"
    "       -H: vmexit on HLT (an idle vCPU yields its host CPU)\n"
    "       -I: present an I/O APIC (deprecated; always present)\n"
    "       -k: read configuration variables from a file\n"
    "       -l: LPC device configuration (com1..com4,{stdio|pty|PATH|tcp=ip:port|unix=PATH},\n"
    "           pc-testdev, fwcfg,{bhyve|qemu})\n"
    "       -m: guest memory size (K/M/G/T suffix; no suffix: MiB; default 256M)\n"
    "       -o: set a configuration variable (config.dump=1 prints the tree)\n"
    "       -p: pin a vCPU to a host CPU (vcpu:hostcpu)\n"
    "       -P: vmexit on PAUSE\n"
    "       -s: PCI slot configuration ([bus:]slot[:func],emulation[,conf]; -s help)\n"
    "       -S: wire (mlock) guest memory\n"
    "       -u: the RTC keeps UTC\n"
    "       -U: UUID of the system\n"
    "       -w: ignore accesses to unimplemented MSRs\n"
    "       -W: force virtio to use single-vector MSI\n"
    "       -x: local APIC in x2APIC mode\n"
    "       -Y: do not build the MP table\n"
    "       --kernel, --initrd, --cmdline: boot a Linux bzImage, vmlinux or Multiboot kernel\n"
    "                  directly (--initrd: the initrd, or the Multiboot module)\n"
    "       --no-seccomp: no system-call filters (-o seccomp=false), for debugging\n";

/* Options parsed here but whose devices are not in this build yet: refused
 * with a clear message rather than silently ignored. */
static const char *const unavailable_lpc[] = { "bootrom", "tpm" };
static const char *const known_pci[] = {
	"hostbridge", "amd_hostbridge", "lpc",	     "virtio-blk",  "virtio-net",
	"virtio-rnd", "virtio-console", "virtio-9p", "virtio-scsi", "virtio-input",
	"uart",	      "ahci",		"ahci-hd",   "ahci-cd",	    "nvme",
	"e1000",      "passthru",	"fbuf",	     "xhci",	    "hda",
};

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

/* One clear line naming the option and the value, then EX_USAGE. */
static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bhyve: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_USAGE);
}

static void __attribute__((noreturn, format(printf, 1, 2))) start_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bhyve: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_FAILURE);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return true;
	}
	return false;
}

#define IN_LIST(s, l) in_list((s), (l), sizeof(l) / sizeof((l)[0]))

static void set_or_die(struct config *cfg, const char *opt, const char *key, const char *value)
{
	int rc = config_set(cfg, key, value);

	if (rc < 0)
		usage_error("%s: cannot set %s=%s: %s", opt, key, value, strerror(-rc));
}

static void opt_cpus(struct config *cfg, const char *arg)
{
	struct parse_topology t;
	char buf[32];

	if (parse_cpus(arg, &t) < 0 || parse_topology_complete(&t) < 0)
		usage_error("-c %s: invalid vCPU count or topology", arg);
	snprintf(buf, sizeof(buf), "%u", t.cpus);
	set_or_die(cfg, "-c", "cpus", buf);
	snprintf(buf, sizeof(buf), "%u", t.sockets);
	set_or_die(cfg, "-c", "sockets", buf);
	snprintf(buf, sizeof(buf), "%u", t.cores);
	set_or_die(cfg, "-c", "cores", buf);
	snprintf(buf, sizeof(buf), "%u", t.threads);
	set_or_die(cfg, "-c", "threads", buf);
}

static void opt_memory(struct config *cfg, const char *arg)
{
	uint64_t bytes;

	if (parse_size(arg, &bytes) < 0)
		usage_error("-m %s: invalid memory size", arg);
	set_or_die(cfg, "-m", "memory.size", arg);
}

static void opt_pin(struct config *cfg, const char *arg)
{
	int vcpu, host;
	bool old;
	char key[48], val[16];
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (parse_pin(arg, &vcpu, &host, &old) < 0)
		usage_error("-p %s: expected vcpu:hostcpu", arg);
	if (host < 0 || (ncpu > 0 && host >= ncpu) || host >= CPU_SETSIZE)
		usage_error("-p %s: host CPU %d does not exist (this host has %ld)", arg, host,
			    ncpu);
	if (old) {
		/* The oldest form: vCPU i runs on host CPU n + i. */
		set_or_die(cfg, "-p", "vcpu.pin_base", arg);
		return;
	}
	snprintf(key, sizeof(key), "vcpu.%d.cpuset", vcpu);
	snprintf(val, sizeof(val), "%d", host);
	set_or_die(cfg, "-p", key, val);
}

static void opt_lpc(struct config *cfg, const char *arg)
{
	char name[32];
	const char *conf;
	int rc;

	if (strcmp(arg, "help") == 0) {
		printf("bootrom\ncom1\ncom2\ncom3\ncom4\nfwcfg\npc-testdev\ntpm\n");
		exit(0);
	}
	if (parse_lpc_device(arg, name, sizeof(name), &conf) < 0)
		usage_error("-l %s: unknown LPC device (see -l help)", arg);
	if (IN_LIST(name, unavailable_lpc))
		start_error("-l %s: the LPC device '%s' is not available in this build yet", arg,
			    name);
	if (strcmp(name, "pc-testdev") == 0) {
		if (conf)
			usage_error("-l %s: pc-testdev takes no configuration", arg);
	} else if (strcmp(name, "fwcfg") == 0) {
		if (!conf)
			usage_error("-l %s: fwcfg needs a flavour, bhyve or qemu", arg);
		if (strcmp(conf, "bhyve") != 0 && strcmp(conf, "qemu") != 0)
			usage_error("-l %s: unknown fw_cfg flavour '%s' (bhyve or qemu)", arg,
				    conf);
	} else if (!conf || !*conf) {
		usage_error("-l %s: %s needs a back end (stdio, pty, a path, tcp=ip:port or "
			    "unix=path)",
			    arg, name);
	}
	rc = config_set_lpc_device(cfg, arg);
	if (rc == -EEXIST)
		usage_error("-l %s: only one pc-testdev may be configured", arg);
	if (rc < 0)
		usage_error("-l %s: invalid LPC device configuration", arg);
}

/* -f [name=]NAME,string=DATA|file=PATH (bhyve(8)): a fw_cfg file; the file
 * is checked when the options are resolved. */
static void opt_fwcfg_file(struct config *cfg, const char *arg)
{
	int rc = config_set_fwcfg_file(cfg, arg);

	if (rc == -ENAMETOOLONG)
		usage_error("-f %s: fw_cfg file name longer than %d bytes", arg,
			    CONFIG_FWCFG_NAME_MAX);
	if (rc == -EEXIST)
		usage_error("-f %s: a fw_cfg file of that name was given before", arg);
	if (rc < 0)
		usage_error("-f %s: invalid fw_cfg file (expected [name=]name,string=data or "
			    "[name=]name,file=path)",
			    arg);
}

static void opt_slot(struct config *cfg, const char *arg)
{
	int rc;

	if (strcmp(arg, "help") == 0) {
		pci_emul_list(stdout);
		exit(0);
	}
	rc = config_set_pci_slot(cfg, arg);
	if (rc == -EEXIST)
		usage_error("-s %s: slot already in use", arg);
	if (rc < 0)
		usage_error("-s %s: invalid slot or emulation ([bus:]slot[:func],emulation[,conf])",
			    arg);
}

static void opt_debug_port(struct config *cfg, const char *arg)
{
	unsigned long long port;

	if (parse_uint(arg, 65535, &port) < 0 || port == 0)
		usage_error("-g %s: expected a TCP port from 1 to 65535", arg);
	set_or_die(cfg, "-g", "bvm_debug_port", arg);
}

/* -G [w][addr:]port: bhyve_config(5) keys gdb.port, gdb.address, gdb.wait. */
static void opt_gdb(struct config *cfg, const char *arg)
{
	char addr[256], port[8];
	bool wait;
	int p;

	if (parse_gdb(arg, &wait, addr, sizeof(addr), &p) < 0)
		usage_error("-G %s: expected [w][addr:]port", arg);
	snprintf(port, sizeof(port), "%d", p);
	set_or_die(cfg, "-G", "gdb.port", port);
	if (addr[0])
		set_or_die(cfg, "-G", "gdb.address", addr);
	if (wait)
		set_or_die(cfg, "-G", "gdb.wait", "true");
}

static void opt_unavailable(int ch, const char *arg, const char *what)
{
	start_error("-%c%s%s: %s is not available in this build yet", ch, arg ? " " : "",
		    arg ? arg : "", what);
}

enum { LONG_KERNEL = 0x100, LONG_INITRD, LONG_CMDLINE, LONG_HELP, LONG_NO_SECCOMP };

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, LONG_KERNEL },
	{ "initrd", required_argument, NULL, LONG_INITRD },
	{ "cmdline", required_argument, NULL, LONG_CMDLINE },
	{ "help", no_argument, NULL, LONG_HELP },
	{ "no-seccomp", no_argument, NULL, LONG_NO_SECCOMP },
	{ NULL, 0, NULL, 0 },
};

static void parse_args(struct config *cfg, int argc, char **argv)
{
	uint8_t uuid[16];
	char err[256];
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":aAbCc:DeG:g:HhIk:l:m:n:o:p:Pr:s:SU:uwWxYf:",
				 long_opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			set_or_die(cfg, "-a", "x86.x2apic", "false");
			break;
		case 'A':
			set_or_die(cfg, "-A", "acpi_tables", "true");
			break;
		case 'b':
			set_or_die(cfg, "-b", "bvmconsole", "true");
			break;
		case 'C':
			set_or_die(cfg, "-C", "memory.guest_in_core", "true");
			break;
		case 'c':
			opt_cpus(cfg, optarg);
			break;
		case 'D':
			set_or_die(cfg, "-D", "destroy_on_poweroff", "true");
			break;
		case 'e':
			set_or_die(cfg, "-e", "x86.strictio", "true");
			break;
		case 'g':
			opt_debug_port(cfg, optarg);
			break;
		case 'G':
			opt_gdb(cfg, optarg);
			break;
		case 'H':
			set_or_die(cfg, "-H", "x86.vmexit_on_hlt", "true");
			break;
		case 'h':
		case LONG_HELP:
			usage(stdout);
			exit(0);
		case 'I':
			break; /* an I/O APIC is always present */
		case 'k':
			rc = config_load_file(cfg, optarg, err, sizeof(err));
			if (rc < 0)
				usage_error("-k %s: %s", optarg, err[0] ? err : strerror(-rc));
			break;
		case 'l':
			opt_lpc(cfg, optarg);
			break;
		case 'm':
			opt_memory(cfg, optarg);
			break;
		case 'n':
			opt_unavailable(ch, optarg, "NUMA configuration");
			break;
		case 'o':
			if (config_parse_option(cfg, optarg) < 0)
				usage_error("-o %s: expected key=value", optarg);
			break;
		case 'p':
			opt_pin(cfg, optarg);
			break;
		case 'P':
			set_or_die(cfg, "-P", "x86.vmexit_on_pause", "true");
			break;
		case 'r':
			opt_unavailable(ch, optarg, "resuming from a snapshot");
			break;
		case 's':
			opt_slot(cfg, optarg);
			break;
		case 'S':
			set_or_die(cfg, "-S", "memory.wired", "true");
			break;
		case 'u':
			set_or_die(cfg, "-u", "rtc.use_localtime", "false");
			break;
		case 'U':
			if (parse_uuid(optarg, uuid) < 0)
				usage_error(
				    "-U %s: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
				    optarg);
			set_or_die(cfg, "-U", "uuid", optarg);
			break;
		case 'w':
			set_or_die(cfg, "-w", "x86.strictmsr", "false");
			break;
		case 'W':
			set_or_die(cfg, "-W", "virtio_msix", "false");
			break;
		case 'x':
			set_or_die(cfg, "-x", "x86.x2apic", "true");
			break;
		case 'Y':
			set_or_die(cfg, "-Y", "x86.mptable", "false");
			break;
		case 'f':
			opt_fwcfg_file(cfg, optarg);
			break;
		case LONG_NO_SECCOMP:
			set_or_die(cfg, "--no-seccomp", "seccomp", "false");
			break;
		case LONG_KERNEL:
			set_or_die(cfg, "--kernel", "linux.kernel", optarg);
			break;
		case LONG_INITRD:
			set_or_die(cfg, "--initrd", "linux.initrd", optarg);
			break;
		case LONG_CMDLINE:
			set_or_die(cfg, "--cmdline", "linux.cmdline", optarg);
			break;
		case ':':
			if (optopt)
				usage_error("-%c: option needs a value", optopt);
			usage_error("%s: option needs a value", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("-%c: unknown option (bhyve -h lists them)", optopt);
			usage_error("%s: unknown option (bhyve -h lists them)", argv[optind - 1]);
		}
	}
	if (optind >= argc && !config_get(cfg, "name"))
		usage_error("missing VM name (usage: bhyve [options] vmname)");
	if (argc - optind > 1)
		usage_error("%s: only one VM name may be given (already have '%s')",
			    argv[optind + 1], argv[optind]);
	if (optind < argc)
		set_or_die(cfg, "vmname", "name", argv[optind]);
}

/* A boolean key, with bhyve's spelling of values. */
static bool key_bool(const struct config *cfg, const char *key, bool dflt)
{
	bool v;

	if (config_get_bool(cfg, key, dflt, &v) < 0)
		usage_error("%s=%s: expected true or false", key, config_get(cfg, key));
	return v;
}

static unsigned key_uint(const struct config *cfg, const char *key, unsigned dflt, unsigned max)
{
	const char *s = config_get(cfg, key);
	unsigned long long v;

	if (!s)
		return dflt;
	if (parse_uint(s, max, &v) < 0)
		usage_error("%s=%s: expected a number from 0 to %u", key, s, max);
	return (unsigned)v;
}

static void resolve_topology(const struct config *cfg, struct vm_options *o)
{
	struct parse_topology t = {
		.cpus = key_uint(cfg, "cpus", 0, PARSE_MAX_CPUS),
		.sockets = key_uint(cfg, "sockets", 0, PARSE_MAX_CPUS),
		.cores = key_uint(cfg, "cores", 0, PARSE_MAX_CPUS),
		.threads = key_uint(cfg, "threads", 0, PARSE_MAX_CPUS),
	};

	if (config_get(cfg, "cpus") && t.cpus == 0)
		usage_error("cpus=%s: at least one vCPU is needed", config_get(cfg, "cpus"));
	if (parse_topology_complete(&t) < 0)
		usage_error("cpus=%u, sockets=%u, cores=%u, threads=%u: inconsistent topology",
			    t.cpus, t.sockets, t.cores, t.threads);
	o->ncpus = t.cpus;
	o->topo.sockets = t.sockets;
	o->topo.cores = t.cores;
	o->topo.threads = t.threads;
}

static void resolve_pins(const struct config *cfg, struct vm_options *o)
{
	long nhost = sysconf(_SC_NPROCESSORS_CONF);
	const char *base = config_get(cfg, "vcpu.pin_base");
	unsigned i;

	o->pin = calloc(o->ncpus, sizeof(*o->pin));
	if (!o->pin)
		start_error("out of memory");
	for (i = 0; i < o->ncpus; i++) {
		char key[48];
		const char *s;
		unsigned long long host;

		o->pin[i] = -1;
		snprintf(key, sizeof(key), "vcpu.%u.cpuset", i);
		s = config_get(cfg, key);
		if (s) {
			if (parse_uint(s, CPU_SETSIZE - 1, &host) < 0 ||
			    (nhost > 0 && host >= (unsigned long long)nhost))
				usage_error("%s=%s: no such host CPU", key, s);
			o->pin[i] = (int)host;
		} else if (base) {
			if (parse_uint(base, CPU_SETSIZE - 1, &host) < 0)
				usage_error("-p %s: no such host CPU", base);
			if (nhost > 0 && host + i >= (unsigned long long)nhost)
				usage_error("-p %s: vcpu %u would need host CPU %llu", base, i,
					    host + i);
			o->pin[i] = (int)(host + i);
		}
	}
}

/* vcpu.N.cpuset for a vCPU that does not exist is a user error. */
static int check_pin_key(const char *name, const char *value, void *arg)
{
	const struct vm_options *o = arg;
	unsigned long long n;

	if (strcmp(name, "pin_base") == 0)
		return 0;
	if (parse_uint(name, UINT_MAX, &n) < 0 || n >= o->ncpus)
		usage_error("-p %s: the VM has only %u vCPU%s", name, o->ncpus,
			    o->ncpus > 1 ? "s" : "");
	return 0;
}

/* Walk pci.B.S.F.device: only the emulations this build has may be used. */
static int check_pci_func(const char *name, const char *value, void *arg)
{
	const struct config *cfg = arg;
	char key[96];
	const char *dev;

	(void)value;
	snprintf(key, sizeof(key), "%s.device", name);
	dev = config_get(cfg, key);
	if (!dev)
		return 0;
	if (pci_emul_find(dev))
		return 0;
	if (!IN_LIST(dev, known_pci))
		usage_error("-s %s: unknown device emulation '%s' (see -s help)", name, dev);
	start_error("-s ...,%s: the device emulation '%s' is not available in this build yet", dev,
		    dev);
}

struct pci_walk {
	const struct config *cfg;
	char prefix[64];
	int depth;
};

static int walk_pci(const char *name, const char *value, void *arg)
{
	struct pci_walk *w = arg;
	struct pci_walk sub = *w;

	if (value)
		return 0;
	if (snprintf(sub.prefix, sizeof(sub.prefix), "%s.%s", w->prefix, name) >=
	    (int)sizeof(sub.prefix))
		return 0;
	if (w->depth == 2)
		return check_pci_func(sub.prefix, NULL, (void *)w->cfg);
	sub.depth = w->depth + 1;
	return config_foreach_child(w->cfg, sub.prefix, walk_pci, &sub);
}

static void resolve_pci(const struct config *cfg, struct vm_options *o)
{
	struct pci_walk w = { .cfg = cfg, .prefix = "pci", .depth = 0 };
	const char *lpc_seen = NULL;
	char key[64];
	int b, s, f;

	config_foreach_child(cfg, "pci", walk_pci, &w);
	/* The LPC bridge exists when some slot holds it (bhyve -s 31,lpc). */
	for (b = 0; b < 256 && !lpc_seen; b++) {
		for (s = 0; s < 32 && !lpc_seen; s++) {
			for (f = 0; f < 8 && !lpc_seen; f++) {
				const char *dev;

				snprintf(key, sizeof(key), "pci.%d.%d.%d.device", b, s, f);
				dev = config_get(cfg, key);
				if (dev && strcmp(dev, "lpc") == 0) {
					lpc_seen = dev;
					o->lpc_slot = s;
					o->lpc_func = f;
				}
			}
		}
	}
	o->lpc = lpc_seen != NULL;
}

static void resolve_com(const struct config *cfg, struct vm_options *o)
{
	int i;

	for (i = 0; i < VM_NCOM; i++) {
		char key[32];

		snprintf(key, sizeof(key), "lpc.com%d.path", i + 1);
		o->com[i] = config_get(cfg, key);
		if (o->com[i] && !o->lpc)
			usage_error("-l com%d,%s: COM ports live on the LPC bridge; add -s 31,lpc",
				    i + 1, o->com[i]);
	}
}

/* fw_cfg.N: each file of -f is readable (bhyve reads them while parsing). */
static int check_fwcfg_file(const char *idx, const char *value, void *arg)
{
	const struct config *cfg = arg;
	const char *name, *path;
	char key[64];
	int rc;

	snprintf(key, sizeof(key), "fw_cfg.%s.name", idx);
	name = value ? NULL : config_get(cfg, key);
	snprintf(key, sizeof(key), "fw_cfg.%s.file", idx);
	path = value ? NULL : config_get(cfg, key);
	if (!name)
		usage_error("fw_cfg.%s: expected fw_cfg.%s.name with .string or .file", idx, idx);
	if (!path)
		return 0;
	rc = fwcfg_check_file(path);
	if (rc < 0)
		usage_error("-f %s,file=%s: %s", name, path,
			    rc == -EINVAL  ? "not a regular file"
			    : rc == -EFBIG ? "larger than 4 GiB"
					   : strerror(-rc));
	return 0;
}

/* -l pc-testdev, -l fwcfg,bhyve|qemu and -f: LPC devices, so they need the
 * LPC bridge; the files only exist in QEMU's flavour. */
static void resolve_fw_devices(const struct config *cfg, const struct vm_options *o)
{
	const char *flavour = config_get(cfg, "lpc.fwcfg");
	bool testdev = key_bool(cfg, "lpc.pc-testdev", false);
	bool files = config_foreach_child(cfg, "fw_cfg", check_fwcfg_file, (void *)cfg) == 0;

	if (flavour && strcmp(flavour, "bhyve") != 0 && strcmp(flavour, "qemu") != 0)
		usage_error("lpc.fwcfg=%s: unknown fw_cfg flavour (bhyve or qemu)", flavour);
	if (testdev && !o->lpc)
		usage_error("-l pc-testdev: LPC devices live on the LPC bridge; add -s 31,lpc");
	if (flavour && !o->lpc)
		usage_error("-l fwcfg,%s: LPC devices live on the LPC bridge; add -s 31,lpc",
			    flavour);
	if (files && (!flavour || strcmp(flavour, "qemu") != 0))
		usage_error("-f: fw_cfg files need QEMU's fw_cfg interface; add -l fwcfg,qemu");
}

/* Walk pci.B.S.F: 1 (stops the walk) at the first function whose back end
 * ("path", as a PCI uart has) is stdio. */
static int find_stdio_pci(const char *name, const char *value, void *arg)
{
	struct pci_walk *w = arg;
	struct pci_walk sub = *w;
	const char *path;
	char key[96];

	if (value)
		return 0;
	if (snprintf(sub.prefix, sizeof(sub.prefix), "%s.%s", w->prefix, name) >=
	    (int)sizeof(sub.prefix))
		return 0;
	if (w->depth < 2) {
		sub.depth = w->depth + 1;
		return config_foreach_child(w->cfg, sub.prefix, find_stdio_pci, &sub);
	}
	snprintf(key, sizeof(key), "%s.path", sub.prefix);
	path = config_get(w->cfg, key);
	return path && strcmp(path, "stdio") == 0;
}

/* -b and -g (bhyve 10's bvm console and debug port).  The console and a
 * UART cannot share stdio: there is one stdin to read. */
static void resolve_bvm(const struct config *cfg, struct vm_options *o)
{
	struct pci_walk w = { .cfg = cfg, .prefix = "pci", .depth = 0 };
	int i;

	o->bvm_console = key_bool(cfg, "bvmconsole", false);
	o->bvm_debug_port = -1;
	if (config_get(cfg, "bvm_debug_port"))
		o->bvm_debug_port = (int)key_uint(cfg, "bvm_debug_port", 0, 65535);
	if (o->bvm_debug_port == 0)
		usage_error("bvm_debug_port=0: expected a TCP port from 1 to 65535");
	for (i = 0; i < VM_NCOM && o->bvm_console; i++) {
		if (o->com[i] && strcmp(o->com[i], "stdio") == 0)
			usage_error("-b: the bvm console and com%d both want stdio; give com%d "
				    "another back end",
				    i + 1, i + 1);
	}
	if (o->bvm_console && config_foreach_child(cfg, "pci", find_stdio_pci, &w) == 1)
		usage_error("-b: the bvm console and a PCI uart both want stdio; give the uart "
			    "another back end");
}

static void resolve_options(const struct config *cfg, struct vm_options *o)
{
	const char *s;

	memset(o, 0, sizeof(*o));
	o->name = config_get(cfg, "name");
	if (!o->name || !*o->name)
		usage_error("missing VM name (usage: bhyve [options] vmname)");
	resolve_topology(cfg, o);
	s = config_get(cfg, "memory.size");
	o->memsize = DEFAULT_MEMSIZE;
	if (s && parse_size(s, &o->memsize) < 0)
		usage_error("-m %s: invalid memory size", s);
	/* Guest memory is mapped in 2 MiB units. */
	o->memsize = (o->memsize + (2ull << 20) - 1) & ~((2ull << 20) - 1);
	o->x2apic = key_bool(cfg, "x86.x2apic", false);
	o->strict_io = key_bool(cfg, "x86.strictio", false);
	o->strict_msr = key_bool(cfg, "x86.strictmsr", true);
	o->hlt_exit = key_bool(cfg, "x86.vmexit_on_hlt", false);
	o->pause_exit = key_bool(cfg, "x86.vmexit_on_pause", false);
	o->wired = key_bool(cfg, "memory.wired", false);
	o->guest_in_core = key_bool(cfg, "memory.guest_in_core", false);
	o->mptable = key_bool(cfg, "x86.mptable", true);
	o->rtc_localtime = key_bool(cfg, "rtc.use_localtime", true);
	o->acpi = key_bool(cfg, "acpi_tables", true);
	s = config_get(cfg, "uuid");
	if (s) {
		if (parse_uuid(s, o->uuid) < 0)
			usage_error("uuid=%s: not a UUID", s);
		o->have_uuid = true;
	}
	(void)key_bool(cfg, "destroy_on_poweroff", false);
	resolve_pins(cfg, o);
	config_foreach_child(cfg, "vcpu", check_pin_key, o);
	resolve_pci(cfg, o);
	resolve_com(cfg, o);
	resolve_fw_devices(cfg, o);
	resolve_bvm(cfg, o);
	o->kernel = config_get(cfg, "linux.kernel");
	o->initrd = config_get(cfg, "linux.initrd");
	o->cmdline = config_get(cfg, "linux.cmdline");
	o->kvm_path = config_get(cfg, "kvm.device");
	o->cfg = cfg;
	if (!o->kernel)
		usage_error("no boot method: give --kernel FILE (direct Linux boot); -l bootrom is "
			    "not available in this build yet");
	if (access(o->kernel, R_OK) < 0)
		start_error("--kernel %s: %s", o->kernel, strerror(errno));
	if (o->initrd && access(o->initrd, R_OK) < 0)
		start_error("--initrd %s: %s", o->initrd, strerror(errno));
}

static void restore_terminal(void)
{
	uart_backend_restore_all();
	bvm_restore_terminal();
}

/* Both restorers are async-signal-safe: tcsetattr and fcntl on state saved
 * before it was published (see their definitions). */
static void fatal_signal(int sig)
{
	uart_backend_restore_all(); /* NOLINT(bugprone-signal-handler): see above */
	bvm_restore_terminal();	    /* NOLINT(bugprone-signal-handler): see above */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The threads confine themselves once started (src/sandbox.h); the key
 * seccomp=false (--no-seccomp) keeps the system-call filters off. */
static void setup_sandbox(const struct config *cfg, const char *name)
{
	int rc = sandbox_configure(name, key_bool(cfg, "seccomp", true), restore_terminal);

	if (rc < 0)
		start_error("cannot build the seccomp filters: %s (--no-seccomp runs without them)",
			    strerror(-rc));
}

int main(int argc, char **argv)
{
	struct config *cfg = config_new();
	struct vm_options opt;
	struct vm *vm;
	bool dump;
	int status;

	if (!cfg)
		start_error("out of memory");
	/* One malloc arena for every thread.  glibc gives threads arenas of
	 * their own, and shrinking one (a free after a thread allocated much)
	 * reads /proc/sys/vm/overcommit_memory the first time: an openat the
	 * sandbox forbids, seen at exit after the slirp thread had run.  The
	 * main arena grows and shrinks with brk and munmap only; one arena also
	 * keeps the runner's own memory small (issue 8). */
	mallopt(M_ARENA_MAX, 1);
	parse_args(cfg, argc, argv);
	dump = key_bool(cfg, "config.dump", false);
	if (dump) {
		config_dump(cfg, stdout);
		return 0;
	}
	resolve_options(cfg, &opt);
	log_set_vmname(opt.name);
	setup_sandbox(cfg, opt.name);
	atexit(restore_terminal);
	signal(SIGTERM, fatal_signal); /* until the VM watches it (vm_run) */
	signal(SIGHUP, fatal_signal);
	signal(SIGINT, fatal_signal);
	signal(SIGQUIT, fatal_signal);
	signal(SIGPIPE, SIG_IGN);
	if (vm_create(&opt, &vm) < 0)
		exit(EX_FAILURE);
	status = vm_run(vm);
	vm_destroy(vm);
	config_free(cfg);
	free(opt.pin);
	uart_backend_restore_all();
	bvm_restore_terminal();
	/* 0-4 are the outcomes of bhyve(8); above them only the odd statuses
	 * a guest asks for through pc-testdev's exit port. */
	if (status < 0 || status > 255)
		status = EX_FAILURE;
	return status;
}
