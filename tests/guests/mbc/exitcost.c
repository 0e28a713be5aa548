/* Exit-cost guest for bench/ (see README): reads a port that the VMM
 * emulates in user space N times in a row, so that the time per read is the
 * cost of one round trip guest -> KVM -> VMM -> KVM -> guest.
 *
 * The port is the ACPI PM timer, found the way an OS finds it: the RSDP
 * (ACPI 6.4 §5.2.5.1: "RSD PTR " on a 16-byte boundary in the first KiB of
 * the EBDA or in 0xE0000-0xFFFFF, checksummed), the RSDT or XSDT, the FADT
 * ("FACP") and its PM_TMR_BLK (offset 76) or X_PM_TMR_BLK (offset 208, a
 * Generic Address Structure in system I/O space).  A second loop reads the
 * scratch register of COM1 (16550 offset 7), which every runner emulates in
 * user space too and which needs no firmware tables (QEMU's microvm has no
 * PM timer).
 *
 * The guest times itself: by the TSC, whose rate it first measures against
 * at least 50 ms of the 8254's channel 0 (every runner here has KVM's
 * in-kernel PIT; port 0x61 and channel 2 are not there in microvm), and by
 * the PM timer where there is one.  (Timing on the host from the console lines is
 * not reliable: a VMM may hold the console's output back while a vCPU
 * hammers the same UART.)
 *
 * Command line: the number of reads per loop (default 1000000), the first
 * word that starts with a digit.  Output on COM1, one line each:
 *   BENCH-EXIT-CAL pit K tsc 0xT              (T TSC ticks in K >= 59659
 *                                              PIT ticks of 1.193182 MHz;
 *                                              CAL_ROUNDS such lines: a
 *                                              vCPU descheduled for longer
 *                                              than a PIT period spoils one)
 *   exitcost pmtmr port PORT bits 24|32       (PORT in decimal; or
 *                                              "exitcost pmtmr none")
 *   BENCH-EXIT-START pmtmr
 *   BENCH-EXIT-END pmtmr n N ticks P tsc 0xT  (P: PM timer ticks, 3.579545
 *                                              MHz, T: TSC ticks the loop
 *                                              took)
 *   BENCH-EXIT-START com1
 *   BENCH-EXIT-END com1 n N ticks P tsc 0xT   (P 0 without a PM timer; with
 *                                              one, the loop also reads it
 *                                              once per 4096 reads)
 * then the guest resets the machine (the runner exits): through the keyboard
 * controller, or, where there is none (microvm), by a triple fault, which
 * QEMU's -no-reboot also turns into an exit. */
#include "mbc.h"

#define DEFAULT_READS	1000000u
#define COM1_SCR	(COM1 + 7)
#define COM1_CHUNK	4096u
#define KBC_CMD		0x64
#define KBC_PULSE_RESET	0xFE
#define EBDA_SEG_PTR	0x40E
#define BIOS_ROM_START	0xE0000u
#define BIOS_ROM_END	0x100000u

#define PIT_CH0		0x40
#define PIT_MODE	0x43
#define PIT_CH0_MODE2	0x34	/* channel 0, low then high byte, mode 2 */
#define PIT_CH0_LATCH	0x00	/* counter latch command, channel 0 */
#define PIT_CAL_TICKS	59659u	/* 50 ms of 1.193182 MHz */
#define CAL_ROUNDS	5

#define FADT_PM_TMR_BLK	76
#define FADT_FLAGS	112
#define FADT_X_PM_TMR	208
#define FADT_X_END	220
#define FADT_TMR_VAL_EXT (1u << 8)
#define GAS_SYSTEM_IO	1

struct pmtmr {
	uint16_t port;
	uint32_t mask;
};

static uint32_t rd32(uint32_t addr)
{
	return *(volatile const uint32_t *)addr;
}

static int sig_is(uint32_t addr, const char *sig, int len)
{
	const volatile char *p = (const volatile char *)addr;

	for (int i = 0; i < len; i++)
		if (p[i] != sig[i])
			return 0;
	return 1;
}

static int checksum_ok(uint32_t addr, uint32_t len)
{
	const volatile uint8_t *p = (const volatile uint8_t *)addr;
	uint8_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

static uint32_t rsdp_scan(uint32_t start, uint32_t end)
{
	for (uint32_t a = start; a + 20 <= end; a += 16)
		if (sig_is(a, "RSD PTR ", 8) && checksum_ok(a, 20))
			return a;
	return 0;
}

static uint32_t find_rsdp(void)
{
	uint32_t ptr = EBDA_SEG_PTR, ebda, r = 0;

	/* Hidden from the compiler, which takes any pointer into the first
	 * 4 KiB for a null-pointer offset (-Warray-bounds). */
	__asm__("" : "+r"(ptr));
	ebda = (uint32_t)*(volatile const uint16_t *)ptr << 4;

	if (ebda >= 0x80000 && ebda < 0xA0000)
		r = rsdp_scan(ebda, ebda + 1024);
	return r ? r : rsdp_scan(BIOS_ROM_START, BIOS_ROM_END);
}

/* A table at a 64-bit physical address, usable only below 4 GiB (paging is
 * off); 0 when it is above or its header is not sane. */
static uint32_t table_at(uint32_t lo, uint32_t hi)
{
	if (hi || lo < 0x1000 || rd32(lo + 4) < 36 || rd32(lo + 4) > 0x100000)
		return 0;
	return checksum_ok(lo, rd32(lo + 4)) ? lo : 0;
}

/* The FADT from the XSDT (revision 2 and later) or else the RSDT. */
static uint32_t find_fadt(uint32_t rsdp)
{
	const volatile uint8_t *r = (const volatile uint8_t *)rsdp;
	uint32_t sdt = 0, step = 4;

	if (r[15] >= 2 && checksum_ok(rsdp, 36)) {
		sdt = table_at(rd32(rsdp + 24), rd32(rsdp + 28));
		step = 8;
	}
	if (!sdt) {
		sdt = table_at(rd32(rsdp + 16), 0);
		step = 4;
	}
	if (!sdt)
		return 0;
	for (uint32_t e = sdt + 36; e + step <= sdt + rd32(sdt + 4); e += step) {
		uint32_t t = table_at(rd32(e), step == 8 ? rd32(e + 4) : 0);

		if (t && sig_is(t, "FACP", 4))
			return t;
	}
	return 0;
}

static int find_pmtmr(struct pmtmr *pm)
{
	uint32_t rsdp = find_rsdp(), fadt, len, port;

	if (!rsdp || !(fadt = find_fadt(rsdp)))
		return 0;
	len = rd32(fadt + 4);
	if (len < FADT_FLAGS + 4)
		return 0;
	port = rd32(fadt + FADT_PM_TMR_BLK);
	if (!port && len >= FADT_X_END &&
	    *(volatile const uint8_t *)(fadt + FADT_X_PM_TMR) == GAS_SYSTEM_IO &&
	    !rd32(fadt + FADT_X_PM_TMR + 8))
		port = rd32(fadt + FADT_X_PM_TMR + 4);
	if (!port || port > 0xFFFC)
		return 0;
	pm->port = (uint16_t)port;
	pm->mask = (rd32(fadt + FADT_FLAGS) & FADT_TMR_VAL_EXT) ? 0xFFFFFFFFu : 0xFFFFFFu;
	return 1;
}

struct timing {
	uint32_t pm_ticks;
	uint64_t tsc;
};

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint16_t pit_ch0_count(void)
{
	uint8_t lo, hi;

	outb(PIT_MODE, PIT_CH0_LATCH);
	lo = inb(PIT_CH0);
	hi = inb(PIT_CH0);
	return (uint16_t)(hi << 8 | lo);
}

/* TSC ticks in *pit_ticks (at least PIT_CAL_TICKS) ticks of channel 0,
 * counting down from 65536 in mode 2 (8254 data sheet), read by latch
 * commands; its interrupt is never delivered (IF is clear). */
static uint64_t tsc_per_pit(uint32_t *pit_ticks)
{
	uint32_t elapsed = 0, spin = 0;
	uint16_t prev, cur;
	uint64_t t0;

	outb(PIT_MODE, PIT_CH0_MODE2);
	outb(PIT_CH0, 0);
	outb(PIT_CH0, 0);
	prev = pit_ch0_count();
	t0 = rdtsc();
	while (elapsed < PIT_CAL_TICKS && ++spin < 10000000u) {
		cur = pit_ch0_count();
		elapsed += (uint16_t)(prev - cur);
		prev = cur;
	}
	*pit_ticks = elapsed;
	return rdtsc() - t0;
}

/* N reads of the PM timer; the elapsed ticks are the sum of the deltas, so
 * a counter that wraps (24 bits: every 4.7 s) is no problem. */
static struct timing loop_pmtmr(const struct pmtmr *pm, uint32_t n)
{
	struct timing t = { 0, rdtsc() };
	uint32_t prev = inl(pm->port);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = inl(pm->port);

		t.pm_ticks += (v - prev) & pm->mask;
		prev = v;
	}
	t.tsc = rdtsc() - t.tsc;
	return t;
}

/* N reads of COM1's scratch register, timed by the PM timer (when there is
 * one) in chunks short enough that it cannot wrap within one. */
static struct timing loop_com1(const struct pmtmr *pm, uint32_t n)
{
	struct timing t = { 0, rdtsc() };
	uint32_t prev = pm ? inl(pm->port) : 0;

	for (uint32_t i = 0; i < n; i++) {
		(void)inb(COM1_SCR);
		if (pm && ((i & (COM1_CHUNK - 1)) == COM1_CHUNK - 1 || i == n - 1)) {
			uint32_t v = inl(pm->port);

			t.pm_ticks += (v - prev) & pm->mask;
			prev = v;
		}
	}
	t.tsc = rdtsc() - t.tsc;
	return t;
}

static void puthex64(uint64_t v)
{
	putstr("0x");
	for (int shift = 60; shift >= 0; shift -= 4)
		putch("0123456789abcdef"[(v >> shift) & 0xF]);
}

static void report(const char *what, uint32_t n, struct timing t)
{
	putstr("BENCH-EXIT-END ");
	putstr(what);
	putstr(" n ");
	putnum(n);
	putstr(" ticks ");
	putnum(t.pm_ticks);
	putstr(" tsc ");
	puthex64(t.tsc);
	putstr("\n");
}

/* An empty IDT: the next exception cannot be delivered, nor the double
 * fault after it (SDM vol. 3 §6.15, interrupt 8): shutdown. */
static void __attribute__((noreturn)) triple_fault(void)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} empty = { 0, 0 };

	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty));
	__builtin_unreachable();
}

void guest_main(void);

void guest_main(void)
{
	const char *cl = cmdline();
	uint32_t n;
	struct pmtmr pm;
	uint32_t pit_ticks;
	uint64_t cal;
	int have_pm;

	/* QEMU puts the kernel's file name first (as GRUB does); the runner
	 * does not: the count is the first word that starts with a digit. */
	while (*cl && !(*cl >= '0' && *cl <= '9' && (cl == cmdline() || cl[-1] == ' ')))
		cl++;
	n = parse_num(&cl);

	if (!n)
		n = DEFAULT_READS;
	have_pm = find_pmtmr(&pm);
	for (int i = 0; i < CAL_ROUNDS; i++) {
		cal = tsc_per_pit(&pit_ticks);
		putstr("BENCH-EXIT-CAL pit ");
		putnum(pit_ticks);
		putstr(" tsc ");
		puthex64(cal);
		putstr("\n");
	}
	if (have_pm) {
		putstr("exitcost pmtmr port ");
		putnum(pm.port);
		putstr(pm.mask == 0xFFFFFFFFu ? " bits 32\n" : " bits 24\n");
		putstr("BENCH-EXIT-START pmtmr\n");
		report("pmtmr", n, loop_pmtmr(&pm, n));
	} else {
		putstr("exitcost pmtmr none\n");
	}
	putstr("BENCH-EXIT-START com1\n");
	report("com1", n, loop_com1(have_pm ? &pm : 0, n));
	outb(KBC_CMD, KBC_PULSE_RESET);
	triple_fault();
}
