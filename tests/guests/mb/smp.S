/* Multiboot test guest: starts the application processors with INIT and
 * SIPI (Intel SDM vol. 3 §8.4.4, MP initialisation; MP spec 1.4 appendix
 * B.4) broadcast to all but itself.  Each AP begins in real mode at the
 * trampoline at 0x8000 (SIPI vector 0x08), switches to protected mode with
 * the guest's GDT, prints "ap N" (its local APIC ID) on COM1 under a
 * spinlock, counts itself and halts with interrupts disabled.
 *
 * The command line says how many vCPUs there are ("4"), since the guest
 * reads no firmware table; the BSP waits for the other N-1, prints "bsp: K
 * aps", then resets (exit status 0) - or, when the command line also holds
 * "h", halts with interrupts disabled like the APs (exit status 2). */
#include "mb.inc"

#define SVR_ENABLE	0x100
#define ICR_INIT	0x000C4500	/* all excluding self, assert, level, INIT */
#define ICR_SIPI	0x000C4600	/* all excluding self, start-up */
#define SIPI_VECTOR	0x08		/* 0x8000 >> 12 */
#define AP_STACK	1024
#define MAX_APIC_ID	63
#define WAIT_LOOPS	200000000

guest_main:
	lea	m_start, %esi
	call	puts
	movl	$0xFF | SVR_ENABLE, LAPIC_SVR
	movl	$0, LAPIC_ICR_HI
	movl	$ICR_INIT, LAPIC_ICR_LO
	call	icr_wait
	movl	$ICR_SIPI | SIPI_VECTOR, LAPIC_ICR_LO
	call	icr_wait
	/* A second SIPI, as the MP spec's algorithm sends; an AP already
	 * running ignores it. */
	movl	$ICR_SIPI | SIPI_VECTOR, LAPIC_ICR_LO
	call	icr_wait
	call	cmdline_num
	mov	%eax, %ebx
	dec	%ebx			/* APs expected */
	mov	$WAIT_LOOPS, %ecx
1:	cmp	%ebx, ap_count
	jae	2f
	pause
	dec	%ecx
	jnz	1b
2:	call	lock
	lea	m_bsp, %esi
	call	puts
	mov	ap_count, %eax
	call	putdec
	lea	m_aps, %esi
	call	puts
	call	unlock
	mov	$'h', %al
	call	cmdline_has
	jnz	hang
	ret

/* Wait until the ICR's delivery status says the IPI was sent. */
icr_wait:
	push	%ecx
	mov	$1000000, %ecx
1:	testl	$0x1000, LAPIC_ICR_LO
	jz	2f
	pause
	dec	%ecx
	jnz	1b
2:	pop	%ecx
	ret

/* An AP in protected mode, from the trampoline. */
ap_entry32:
	mov	$SEL_DATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	mov	LAPIC_ID, %eax		/* no stack yet: no call */
	shr	$24, %eax
	cmp	$MAX_APIC_ID, %eax
	ja	hang
	inc	%eax
	imul	$AP_STACK, %eax
	lea	ap_stacks(%eax), %esp
	lidt	idt_desc
	call	lock
	lea	m_ap, %esi
	call	puts
	call	lapic_id
	call	putdec
	mov	$'\n', %al
	call	putc
	call	unlock
	lock incl ap_count
	jmp	hang

	.section .rodata
m_start: .asciz	"smp\n"
m_ap:	.asciz	"ap "
m_bsp:	.asciz	"bsp: "
m_aps:	.asciz	" aps\n"

	.section .data
ap_count: .long	0

	.section .bss
	.balign 16
ap_stacks:
	.space	AP_STACK * (MAX_APIC_ID + 2)

/* Real mode at 0x0800:0000 (SDM vol. 3 §8.4.4.1 step 14 ff.): load the
 * guest's GDT, set PE and jump to 32-bit code. */
	.section .trampoline, "ax"
	.code16
ap_trampoline:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	lgdtl	tramp_gdt_desc
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$SEL_CODE, $ap_entry32
	.balign 8
tramp_gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
	.code32
