/* Multiboot test guest for pc-testdev (-l pc-testdev, src/hw/pc_testdev.h).
 *
 * --cmdline "V [w|l]": prints "exit V" and writes V to the exit port 0xF4
 * (a byte, or with "w" a word, with "l" a dword): the runner exits with
 * (V << 1) | 1.
 * --cmdline "cross": a 4-byte read at 0xFF00FFFE, which crosses the end
 * of the 64 KiB MMIO region: the runner refuses it (exit status 4).
 * Otherwise every interface in turn, each result printed on COM1:
 *   scratch   0xE0-0xE3 at every width and offset
 *   flush     a dword to 0xE4, then its read (0)
 *   bytes     the byte registers 0xE8-0xEB, one byte each, read as a dword
 *   exitport  reads of 0xF4 (0, and the VM keeps running)
 *   iomem     the MMIO region: dword, byte and word accesses at its start
 *             and its last bytes, and a "rep stosl" of four dwords
 *   irq       GSI 10 (an ISA IRQ, I/O APIC pin 10, edge-triggered) and
 *             GSI 17 (I/O APIC pin 17, level-triggered) routed to vectors
 *             0x40 and 0x41 of this CPU: a write of 1 to 0x2000+N raises
 *             the line; each interrupt is counted (the level one lowers its
 *             line with a write of 0 before the EOI): "irq N 1" each
 *   pin24     a read of 0x2018, one past the last pin: no port there
 *             (all-ones)
 * then "testdev done" and a write of 0 to the exit port (exit status 1). */
#include "mb.inc"

#define EXIT_PORT	0xF4
#define SCRATCH		0xE0
#define FLUSH		0xE4
#define BYTES		0xE8
#define IRQ_PORT	0x2000
#define IOMEM		0xFF000000
#define IOMEM_LAST	0xFF00FFFC
#define IOAPIC		0xFEC00000
#define IOAPIC_WIN	(IOAPIC + 0x10)
#define RTE_LEVEL	(1 << 15)
#define VEC_ISA		0x40
#define VEC_PCI		0x41
#define PIN_ISA		10
#define PIN_PCI		17
#define SVR_ENABLE	0x100
#define WAIT_LOOPS	10000000

.macro SAY msg
	lea	\msg, %esi
	call	puts
.endm

.macro HEX
	call	puthex
	mov	$' ', %al
	call	putc
.endm

.macro NL
	mov	$'\n', %al
	call	putc
.endm

guest_main:
	call	first_char
	sub	$'0', %eax
	cmp	$9, %eax
	jbe	do_exit
	mov	$'c', %al
	call	cmdline_has
	jnz	do_cross
	SAY	m_start
	call	t_scratch
	call	t_flush
	call	t_bytes
	call	t_exitport
	call	t_iomem
	call	t_irq
	call	t_pin24
	SAY	m_done
	xor	%eax, %eax
	out	%al, $EXIT_PORT
	SAY	m_noexit
	ret

/* %eax = the command line's first byte, 0 without one. */
first_char:
	push	%esi
	call	cmdline_ptr
	xor	%eax, %eax
	test	%esi, %esi
	jz	1f
	movzbl	(%esi), %eax
1:	pop	%esi
	ret

do_exit:
	call	cmdline_num
	mov	%eax, %ebx
	SAY	m_exit
	mov	%ebx, %eax
	call	putdec
	NL
	mov	$'w', %al
	call	cmdline_has
	jnz	1f
	mov	$'l', %al
	call	cmdline_has
	jnz	2f
	mov	%ebx, %eax
	out	%al, $EXIT_PORT
	jmp	3f
1:	mov	%ebx, %eax
	out	%ax, $EXIT_PORT
	jmp	3f
2:	mov	%ebx, %eax
	out	%eax, $EXIT_PORT
3:	SAY	m_noexit
	ret

do_cross:
	SAY	m_cross
	mov	0xFF00FFFE, %eax
	SAY	m_noexit
	ret

t_scratch:
	SAY	m_scratch
	mov	$0x12345678, %eax
	out	%eax, $SCRATCH
	in	$SCRATCH, %eax
	HEX
	xor	%eax, %eax
	in	$SCRATCH + 1, %al
	HEX
	xor	%eax, %eax
	in	$SCRATCH + 2, %ax
	HEX
	mov	$0xAB, %al
	out	%al, $SCRATCH + 3
	in	$SCRATCH, %eax
	HEX
	mov	$0xCDEF, %ax
	out	%ax, $SCRATCH + 1
	in	$SCRATCH, %eax
	call	puthex
	NL
	ret

t_flush:
	SAY	m_flush
	mov	$0x00200000, %eax
	out	%eax, $FLUSH
	mov	$0xFFFFFFFF, %eax
	in	$FLUSH, %eax
	call	puthex
	NL
	ret

t_bytes:
	SAY	m_bytes
	mov	$0x11, %al
	out	%al, $BYTES
	mov	$0x22, %al
	out	%al, $BYTES + 1
	mov	$0x33, %al
	out	%al, $BYTES + 2
	mov	$0x44, %al
	out	%al, $BYTES + 3
	in	$BYTES, %eax
	HEX
	xor	%eax, %eax
	in	$BYTES + 2, %al
	call	puthex
	NL
	ret

t_exitport:
	SAY	m_exitport
	xor	%eax, %eax
	in	$EXIT_PORT, %al
	HEX
	mov	$0xFFFFFFFF, %eax
	in	$EXIT_PORT, %eax
	call	puthex
	NL
	ret

t_iomem:
	SAY	m_iomem
	movl	$0x0BADCAFE, IOMEM
	mov	IOMEM, %eax
	HEX
	movzbl	IOMEM + 1, %eax
	HEX
	movw	$0xBEEF, IOMEM_LAST + 2
	mov	IOMEM_LAST, %eax
	HEX
	movzbl	IOMEM_LAST + 3, %eax
	HEX
	mov	$0x11223344, %eax
	mov	$IOMEM + 0x100, %edi
	mov	$4, %ecx
	rep stosl
	mov	IOMEM + 0x10C, %eax
	call	puthex
	NL
	ret

/* Redirection entry %ecx (pin) = %eax (low dword), destination APIC 0
 * (82093AA data sheet §3.2.4: IOREDTBL at index 0x10 + 2 * pin). */
ioapic_route:
	push	%edx
	lea	0x10(,%ecx,2), %edx
	inc	%edx
	mov	%edx, IOAPIC
	movl	$0, IOAPIC_WIN
	dec	%edx
	mov	%edx, IOAPIC
	mov	%eax, IOAPIC_WIN
	pop	%edx
	ret

/* Wait until the dword at %esi is at least 1, or give up. */
wait_count:
	push	%ecx
	mov	$WAIT_LOOPS, %ecx
1:	cmpl	$0, (%esi)
	jne	2f
	pause
	dec	%ecx
	jnz	1b
2:	pop	%ecx
	ret

/* A delay in which a wrongly re-delivered interrupt would show. */
settle:
	push	%ecx
	mov	$200000, %ecx
1:	pause
	dec	%ecx
	jnz	1b
	pop	%ecx
	ret

t_irq:
	/* Only the I/O APIC path: the 8259s are masked (OCW1). */
	mov	$0xFF, %al
	out	%al, $0x21
	out	%al, $0xA1
	movl	$0xFF | SVR_ENABLE, LAPIC_SVR
	movl	$isr_isa, handlers + 4 * VEC_ISA
	movl	$isr_pci, handlers + 4 * VEC_PCI
	mov	$PIN_ISA, %ecx
	mov	$VEC_ISA, %eax
	call	ioapic_route
	mov	$PIN_PCI, %ecx
	mov	$VEC_PCI | RTE_LEVEL, %eax
	call	ioapic_route
	sti
	mov	$IRQ_PORT + PIN_ISA, %dx
	mov	$1, %al
	out	%al, %dx
	lea	count_isa, %esi
	call	wait_count
	xor	%al, %al
	out	%al, %dx
	call	settle
	mov	$IRQ_PORT + PIN_PCI, %dx
	mov	$1, %al
	out	%al, %dx
	lea	count_pci, %esi
	call	wait_count
	call	settle
	cli
	SAY	m_irq
	mov	$PIN_ISA, %eax
	call	putdec
	mov	$' ', %al
	call	putc
	mov	count_isa, %eax
	call	putdec
	NL
	SAY	m_irq
	mov	$PIN_PCI, %eax
	call	putdec
	mov	$' ', %al
	call	putc
	mov	count_pci, %eax
	call	putdec
	NL
	ret

isr_isa:
	lock incl count_isa
	movl	$0, LAPIC_EOI
	ret

/* Level-triggered: lower the line before the EOI, or the I/O APIC
 * delivers it again (82093AA §3.2.4, Remote IRR). */
isr_pci:
	mov	$IRQ_PORT + PIN_PCI, %dx
	xor	%al, %al
	out	%al, %dx
	lock incl count_pci
	movl	$0, LAPIC_EOI
	ret

t_pin24:
	SAY	m_pin24
	mov	$IRQ_PORT + 24, %dx
	xor	%eax, %eax
	in	%dx, %al
	call	puthex
	NL
	ret

	.section .rodata
m_start:	.asciz	"testdev\n"
m_done:		.asciz	"testdev done\n"
m_noexit:	.asciz	"still running\n"
m_exit:		.asciz	"exit "
m_cross:	.asciz	"cross\n"
m_scratch:	.asciz	"scratch "
m_flush:	.asciz	"flush "
m_bytes:	.asciz	"bytes "
m_exitport:	.asciz	"exitport "
m_iomem:	.asciz	"iomem "
m_irq:		.asciz	"irq "
m_pin24:	.asciz	"pin24 "

	.section .data
	.balign 4
count_isa:	.long	0
count_pci:	.long	0
