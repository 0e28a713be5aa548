/* KVM ioctls, following Documentation/virt/kvm/api.rst of the Linux kernel. */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* KVM needs three pages for the real-mode TSS and one for the EPT identity
 * map on Intel; put them just below the 16 MiB boot-ROM window at the top of
 * 4 GiB, away from the local APIC, I/O APIC and HPET. */
#define VMM_IDENTITY_MAP_ADDR 0xfeffc000ull
#define VMM_TSS_ADDR	      0xfeffd000ull

#define CPUID_MAX_ENTRIES 256

struct vmm {
	int kvm_fd;
	int vm_fd;
	int run_size;
	struct kvm_cpuid2 *cpuid; /* cached KVM_GET_SUPPORTED_CPUID */
	/* The whole GSI routing table: KVM_SET_GSI_ROUTING replaces it, so
	 * the irqchip entries are kept here next to the MSI routes. */
	pthread_mutex_t route_lock;
	struct kvm_irq_routing_entry *routes;
	unsigned nroutes, nbase; /* nbase: irqchip entries, first */
};

struct vmm_vcpu {
	struct vmm *vm;
	int id;
	int fd;
	struct kvm_run *run;
};

static int xioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	do {
		rc = ioctl(fd, req, arg);
	} while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}

int vmm_create(const char *kvm_path, struct vmm **out)
{
	struct vmm *vm;
	int rc;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->vm_fd = -1;
	pthread_mutex_init(&vm->route_lock, NULL);
	vm->kvm_fd = open(kvm_path ? kvm_path : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (rc != KVM_API_VERSION) {
		rc = -ENOTSUP;
		goto fail;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run)) {
		rc = -ENOTSUP;
		goto fail;
	}
	do {
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		rc = -errno;
		goto fail;
	}
	*out = vm;
	return 0;
fail:
	vmm_destroy(vm);
	return rc;
}

void vmm_destroy(struct vmm *vm)
{
	if (!vm)
		return;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	free(vm->routes);
	pthread_mutex_destroy(&vm->route_lock);
	free(vm);
}

int vmm_max_vcpus(struct vmm *vm)
{
	int n = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (n <= 0)
		n = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	return n > 0 ? n : 4;
}

#define VMM_IOAPIC_PINS 24
#define VMM_MAX_ROUTES	1024 /* within KVM_MAX_IRQ_ROUTES (4096) */

/* GSI routing of a PC (MP spec 1.4 §5.3, ACPI interrupt source override
 * for IRQ 0): ISA IRQs 0-15 reach both 8259s and the I/O APIC, but the PIT's
 * IRQ 0 arrives on I/O APIC pin 2 and IRQ 2 is the PIC cascade; GSIs 16-23
 * (PCI INTx) reach only the I/O APIC. */
static int vmm_setup_irq_routing(struct vmm *vm)
{
	struct kvm_irq_routing *r;
	unsigned gsi, n = 0;
	int rc;

	r = calloc(1, sizeof(*r) + 48 * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	for (gsi = 0; gsi < VMM_IOAPIC_PINS; gsi++) {
		if (gsi < 16 && gsi != 2) {
			r->entries[n].gsi = gsi;
			r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			r->entries[n].u.irqchip.irqchip =
			    gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			r->entries[n].u.irqchip.pin = gsi % 8;
			n++;
		}
		r->entries[n].gsi = gsi;
		r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r->entries[n].u.irqchip.pin = gsi == 0 ? 2 : gsi;
		n++;
	}
	r->nr = n;
	rc = xioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r);
	if (rc == 0) {
		/* Kept for vmm_msi_route_set, which re-issues the table. */
		pthread_mutex_lock(&vm->route_lock);
		free(vm->routes);
		vm->routes = calloc(n, sizeof(r->entries[0]));
		if (vm->routes)
			memcpy(vm->routes, r->entries, n * sizeof(r->entries[0]));
		vm->nroutes = vm->nbase = vm->routes ? n : 0;
		pthread_mutex_unlock(&vm->route_lock);
	}
	free(r);
	return rc < 0 ? rc : 0;
}

int vmm_setup_platform(struct vmm *vm)
{
	uint64_t idmap = VMM_IDENTITY_MAP_ADDR;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int rc;

	rc = xioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	if (rc < 0)
		return rc;
	rc = ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VMM_TSS_ADDR);
	if (rc < 0)
		return -errno;
	rc = xioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (rc < 0)
		return rc;
	rc = vmm_setup_irq_routing(vm);
	if (rc < 0)
		return rc;
	return xioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
}

int vmm_enable_user_msr(struct vmm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN,
	};

	return xioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap);
}

int vmm_pause_loop_exiting(void)
{
	static const char *const params[] = {
		"/sys/module/kvm_amd/parameters/pause_filter_count",
		"/sys/module/kvm_intel/parameters/ple_gap",
	};
	unsigned i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char buf[32];
		ssize_t n;
		int fd = open(params[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		return strtoul(buf, NULL, 10) > 0;
	}
	return -1;
}

int vmm_disable_exits(struct vmm *vm, bool hlt, bool pause)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_DISABLE_EXITS };
	int allowed = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_DISABLE_EXITS);

	if (allowed <= 0)
		return -ENOTSUP;
	if (hlt)
		cap.args[0] |= KVM_X86_DISABLE_EXITS_HLT;
	if (pause)
		cap.args[0] |= KVM_X86_DISABLE_EXITS_PAUSE;
	if ((cap.args[0] & (uint64_t)allowed) != cap.args[0])
		return -ENOTSUP;
	if (!cap.args[0])
		return 0;
	return xioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap);
}

int vmm_map_memory(struct vmm *vm, int slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = (uint32_t)slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

int vmm_irq_line(struct vmm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };

	return xioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

int vmm_signal_msi(struct vmm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int rc = xioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);

	return rc < 0 ? rc : 0;
}

int vmm_vcpu_create(struct vmm *vm, int id, struct vmm_vcpu **out)
{
	struct vmm_vcpu *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	do {
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	} while (v->fd < 0 && errno == EINTR);
	if (v->fd < 0) {
		rc = -errno;
		free(v);
		return rc;
	}
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		rc = -errno;
		close(v->fd);
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void vmm_vcpu_destroy(struct vmm_vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, (size_t)v->vm->run_size);
	close(v->fd);
	free(v);
}

struct kvm_run *vmm_vcpu_run_area(struct vmm_vcpu *v)
{
	return v->run;
}

size_t vmm_vcpu_run_size(const struct vmm_vcpu *v)
{
	return (size_t)v->vm->run_size;
}

int vmm_vcpu_id(const struct vmm_vcpu *v)
{
	return v->id;
}

int vmm_vcpu_fd(const struct vmm_vcpu *v)
{
	return v->fd;
}

int vmm_vcpu_run(struct vmm_vcpu *v)
{
	return ioctl(v->fd, KVM_RUN, 0) < 0 ? -errno : 0;
}

void vmm_vcpu_kick(struct vmm_vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

static int vmm_supported_cpuid(struct vmm *vm)
{
	struct kvm_cpuid2 *c;
	int rc;

	if (vm->cpuid)
		return 0;
	c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENTRIES;
	rc = xioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
	if (rc < 0) {
		free(c);
		return rc;
	}
	vm->cpuid = c;
	return 0;
}

static unsigned ceil_log2(unsigned n)
{
	unsigned s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

/* Shape one CPUID entry for this vCPU (Intel SDM vol. 2A, CPUID; AMD APM
 * vol. 3, appendix E). The APIC ID is the vCPU index, as in bhyve. */
static void cpuid_fixup(struct kvm_cpuid_entry2 *e, unsigned apic_id, const struct vmm_topology *t,
			bool x2apic)
{
	unsigned per_pkg = t->cores * t->threads;
	unsigned smt_shift = ceil_log2(t->threads);
	unsigned pkg_shift = smt_shift + ceil_log2(t->cores);

	switch (e->function) {
	case 1:
		e->ebx &= 0x0000ffff;
		e->ebx |= (apic_id & 0xff) << 24;
		e->ebx |= (per_pkg > 255 ? 255 : per_pkg) << 16;
		if (per_pkg > 1)
			e->edx |= 1u << 28; /* HTT: more than one logical CPU */
		else
			e->edx &= ~(1u << 28);
		if (x2apic)
			e->ecx |= 1u << 21;
		else
			e->ecx &= ~(1u << 21);
		/* A guest under a hypervisor is told so: the bit that makes it
		 * look at the KVM leaves (kvmclock, PV EOI). */
		e->ecx |= 1u << 31;
		break;
	case 4:
		/* Cores per package minus one, bits 31:26. */
		e->eax &= 0x03ffffff;
		e->eax |= ((t->cores - 1) & 0x3f) << 26;
		break;
	case 0xb:
	case 0x1f:
		e->edx = apic_id;
		if (e->index == 0) {
			e->eax = smt_shift;
			e->ebx = t->threads;
			e->ecx = (1u << 8) | e->index;
		} else if (e->index == 1) {
			e->eax = pkg_shift;
			e->ebx = per_pkg;
			e->ecx = (2u << 8) | e->index;
		} else {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	case 0x80000001:
		/* CmpLegacy: multi-core package on AMD. */
		if (per_pkg > 1)
			e->ecx |= 1u << 1;
		else
			e->ecx &= ~(1u << 1);
		break;
	case 0x80000008:
		e->ecx &= ~0xf0ffu;
		e->ecx |= (per_pkg - 1) & 0xff;
		e->ecx |= (pkg_shift & 0xf) << 12;
		break;
	case 0x8000001e:
		e->eax = apic_id;
		e->ebx = ((t->threads - 1) << 8) | ((apic_id >> smt_shift) & 0xff);
		e->ecx = 0;
		break;
	default:
		break;
	}
}

int vmm_vcpu_set_cpuid(struct vmm_vcpu *v, const struct vmm_topology *topo, bool x2apic)
{
	struct kvm_cpuid2 *c;
	size_t sz;
	unsigned i;
	int rc;

	rc = vmm_supported_cpuid(v->vm);
	if (rc < 0)
		return rc;
	sz = sizeof(*c) + v->vm->cpuid->nent * sizeof(c->entries[0]);
	c = malloc(sz);
	if (!c)
		return -ENOMEM;
	memcpy(c, v->vm->cpuid, sz);
	for (i = 0; i < c->nent; i++)
		cpuid_fixup(&c->entries[i], (unsigned)v->id, topo, x2apic);
	rc = xioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return rc < 0 ? rc : 0;
}

int vmm_vcpu_get_regs(struct vmm_vcpu *v, struct kvm_regs *regs)
{
	int rc = xioctl(v->fd, KVM_GET_REGS, regs);

	return rc < 0 ? rc : 0;
}

int vmm_vcpu_set_regs(struct vmm_vcpu *v, const struct kvm_regs *regs)
{
	int rc = xioctl(v->fd, KVM_SET_REGS, (void *)regs);

	return rc < 0 ? rc : 0;
}

int vmm_vcpu_get_sregs(struct vmm_vcpu *v, struct kvm_sregs *sregs)
{
	int rc = xioctl(v->fd, KVM_GET_SREGS, sregs);

	return rc < 0 ? rc : 0;
}

int vmm_vcpu_set_sregs(struct vmm_vcpu *v, const struct kvm_sregs *sregs)
{
	int rc = xioctl(v->fd, KVM_SET_SREGS, (void *)sregs);

	return rc < 0 ? rc : 0;
}

/* struct kvm_msrs ends in a flexible array: room for one entry after it. */
union vmm_one_msr {
	struct kvm_msrs hdr;
	uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

int vmm_vcpu_get_msr(struct vmm_vcpu *v, uint32_t index, uint64_t *value)
{
	union vmm_one_msr m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = index;
	rc = xioctl(v->fd, KVM_GET_MSRS, &m);
	if (rc < 0)
		return rc;
	if (rc != 1)
		return -EINVAL;
	*value = m.hdr.entries[0].data;
	return 0;
}

int vmm_vcpu_set_msr(struct vmm_vcpu *v, uint32_t index, uint64_t value)
{
	union vmm_one_msr m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = index;
	m.hdr.entries[0].data = value;
	rc = xioctl(v->fd, KVM_SET_MSRS, &m);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : -EINVAL;
}

int vmm_vcpu_get_mp_state(struct vmm_vcpu *v, uint32_t *state)
{
	struct kvm_mp_state mp;
	int rc = xioctl(v->fd, KVM_GET_MP_STATE, &mp);

	if (rc < 0)
		return rc;
	*state = mp.mp_state;
	return 0;
}

int vmm_vcpu_translate(struct vmm_vcpu *v, uint64_t gva, uint64_t *gpa)
{
	struct kvm_translation t = { .linear_address = gva };
	int rc = xioctl(v->fd, KVM_TRANSLATE, &t);

	if (rc < 0)
		return rc;
	if (!t.valid)
		return -EFAULT;
	*gpa = t.physical_address;
	return 0;
}

/* ---- Event file descriptors (KVM API documentation 4.59, 4.75) ---- */

int vmm_ioeventfd(struct vmm *vm, const struct vmm_ioeventfd *e, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = e->addr,
		.len = e->len,
		.fd = e->fd,
		.datamatch = e->datamatch,
	};
	int rc;

	if (e->pio)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (e->match)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (!assign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	rc = xioctl(vm->vm_fd, KVM_IOEVENTFD, &io);
	return rc < 0 ? rc : 0;
}

int vmm_irqfd(struct vmm *vm, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
	};
	int rc;

	if (!assign) {
		irq.flags = KVM_IRQFD_FLAG_DEASSIGN;
	} else if (resample_fd >= 0) {
		irq.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irq.resamplefd = (uint32_t)resample_fd;
	}
	rc = xioctl(vm->vm_fd, KVM_IRQFD, &irq);
	return rc < 0 ? rc : 0;
}

/* ---- MSI routes (KVM API documentation 4.52, KVM_SET_GSI_ROUTING) ---- */

/* route_lock held. */
static int route_commit(struct vmm *vm)
{
	struct kvm_irq_routing *r;
	int rc;

	r = calloc(1, sizeof(*r) + vm->nroutes * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	r->nr = vm->nroutes;
	memcpy(r->entries, vm->routes, vm->nroutes * sizeof(r->entries[0]));
	rc = xioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r);
	free(r);
	return rc < 0 ? rc : 0;
}

static int route_find(const struct vmm *vm, uint32_t gsi)
{
	unsigned i;

	for (i = vm->nbase; i < vm->nroutes; i++)
		if (vm->routes[i].gsi == gsi)
			return (int)i;
	return -1;
}

/* The lowest GSI above the I/O APIC pins that no MSI route uses. */
static int route_free_gsi(const struct vmm *vm)
{
	uint32_t gsi;

	for (gsi = VMM_IOAPIC_PINS; gsi < VMM_MAX_ROUTES; gsi++)
		if (route_find(vm, gsi) < 0)
			return (int)gsi;
	return -ENOSPC;
}

int vmm_msi_route_set(struct vmm *vm, int *gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e, *n, old;
	bool added = false;
	int i, g, rc;

	pthread_mutex_lock(&vm->route_lock);
	g = *gsi;
	i = g >= 0 ? route_find(vm, (uint32_t)g) : -1;
	if (i < 0) {
		if (g < 0 && (g = route_free_gsi(vm)) < 0) {
			rc = g;
			goto out;
		}
		if (g < VMM_IOAPIC_PINS || g >= VMM_MAX_ROUTES) {
			rc = -EINVAL;
			goto out;
		}
		n = realloc(vm->routes, (vm->nroutes + 1) * sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		vm->routes = n;
		i = (int)vm->nroutes++;
		added = true;
	}
	e = &vm->routes[i];
	old = *e;
	if (!added && e->u.msi.address_lo == (uint32_t)addr &&
	    e->u.msi.address_hi == (uint32_t)(addr >> 32) && e->u.msi.data == data) {
		rc = 0; /* nothing changed: spare the ioctl */
		goto out;
	}
	memset(e, 0, sizeof(*e));
	e->gsi = (uint32_t)g;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
	rc = route_commit(vm);
	if (rc < 0) {
		if (added)
			vm->nroutes--;
		else
			*e = old;
	}
out:
	if (rc == 0)
		*gsi = g;
	pthread_mutex_unlock(&vm->route_lock);
	return rc;
}

int vmm_msi_route_del(struct vmm *vm, int gsi)
{
	int i, rc;

	pthread_mutex_lock(&vm->route_lock);
	i = gsi >= 0 ? route_find(vm, (uint32_t)gsi) : -1;
	if (i < 0) {
		pthread_mutex_unlock(&vm->route_lock);
		return -ENOENT;
	}
	vm->routes[i] = vm->routes[vm->nroutes - 1];
	vm->nroutes--;
	rc = route_commit(vm);
	pthread_mutex_unlock(&vm->route_lock);
	return rc;
}

/* ---- Guest debugging (KVM API documentation 4.88, KVM_SET_GUEST_DEBUG) ---- */

int vmm_vcpu_inject_exception(struct vmm_vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	struct kvm_vcpu_events ev;
	int rc = xioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev);

	if (rc < 0)
		return rc;
	/* KVM API 4.31: only the exception part is set; for #BP (a soft
	 * exception) KVM skips the INT3 on injection. */
	ev.flags = 0;
	ev.exception.injected = 1;
	ev.exception.nr = vector;
	ev.exception.has_error_code = has_error;
	ev.exception.error_code = error;
	rc = xioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev);
	return rc < 0 ? rc : 0;
}

int vmm_vcpu_set_guest_debug(struct vmm_vcpu *v, uint32_t control, const uint64_t dr[8])
{
	struct kvm_guest_debug dbg;
	int rc;

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = control;
	if (dr)
		memcpy(dbg.arch.debugreg, dr, sizeof(dbg.arch.debugreg));
	rc = xioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
	return rc < 0 ? rc : 0;
}
