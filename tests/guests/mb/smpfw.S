/* Multiboot test guest shaped like a kvm-unit-tests kernel: it learns the
 * CPU count from QEMU's fw_cfg (item 0x05 through ports 0x510/0x511,
 * -l fwcfg,qemu), copies a real-mode trampoline to page 0 and starts the
 * application processors with INIT and a SIPI of vector 0 (Intel SDM vol.
 * 3 §8.4.4), each of which prints "ap <APIC ID>" and counts itself; the
 * BSP then prints "running K of N" and "image 0x........" (where it was
 * linked: make guests links it at 1 MiB, tests/integration/test_testdev.py
 * also at 4 MiB, as kvm-unit-tests images are) and reports through
 * pc-testdev's exit port (-l pc-testdev): 0 when all N run (exit status
 * 1), 1 when not (exit status 3). */
#include "mb.inc"

#define SELECTOR	0x510
#define DATA		0x511
#define NB_CPUS		0x05
#define EXIT_PORT	0xF4
#define SVR_ENABLE	0x100
#define ICR_INIT	0x000C4500	/* all excluding self, assert, level, INIT */
#define ICR_SIPI	0x000C4600	/* all excluding self, start-up */
#define SIPI_VECTOR	0x00		/* page 0 */
#define AP_STACK	1024
#define MAX_APIC_ID	63
#define WAIT_LOOPS	200000000

.macro SAY msg
	lea	\msg, %esi
	call	puts
.endm

guest_main:
	mov	$NB_CPUS, %ax
	mov	$SELECTOR, %dx
	out	%ax, %dx
	mov	$DATA, %dx
	xor	%eax, %eax
	in	%dx, %al
	mov	%eax, %ebx
	in	%dx, %al
	shl	$8, %eax
	or	%eax, %ebx
	mov	%ebx, ncpus
	call	lock
	SAY	m_start
	mov	%ebx, %eax
	call	putdec
	mov	$'\n', %al
	call	putc
	call	unlock
	/* The trampoline to physical address 0, where SIPI vector 0 starts
	 * the APs in real mode at 0000:0000. */
	lea	tramp_start, %esi
	xor	%edi, %edi
	mov	$tramp_end - tramp_start, %ecx
	rep movsb
	movl	$0xFF | SVR_ENABLE, LAPIC_SVR
	movl	$0, LAPIC_ICR_HI
	movl	$ICR_INIT, LAPIC_ICR_LO
	call	icr_wait
	movl	$ICR_SIPI | SIPI_VECTOR, LAPIC_ICR_LO
	call	icr_wait
	movl	$ICR_SIPI | SIPI_VECTOR, LAPIC_ICR_LO
	call	icr_wait
	dec	%ebx			/* APs expected */
	mov	$WAIT_LOOPS, %ecx
1:	cmp	%ebx, ap_count
	jae	2f
	pause
	dec	%ecx
	jnz	1b
2:	call	lock
	SAY	m_running
	mov	ap_count, %eax
	inc	%eax
	call	putdec
	SAY	m_of
	mov	ncpus, %eax
	call	putdec
	mov	$'\n', %al
	call	putc
	SAY	m_image
	mov	$_start, %eax
	call	puthex
	mov	$'\n', %al
	call	putc
	call	unlock
	xor	%eax, %eax
	cmp	%ebx, ap_count
	je	3f
	inc	%eax
3:	out	%al, $EXIT_PORT
	ret

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
	SAY	m_ap
	call	lapic_id
	call	putdec
	mov	$'\n', %al
	call	putc
	call	unlock
	lock incl ap_count
	jmp	hang

/* Copied to 0 and run there in real mode with CS = 0: every address
 * inside it is its offset from tramp_start. */
	.code16
tramp_start:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	lgdtl	tramp_gdt_desc - tramp_start
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$SEL_CODE, $ap_entry32
	.balign 8
tramp_gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
tramp_end:
	.code32

	.section .rodata
m_start:	.asciz	"smpfw cpus "
m_ap:		.asciz	"ap "
m_running:	.asciz	"running "
m_of:		.asciz	" of "
m_image:	.asciz	"image "

	.section .data
	.balign 4
ap_count:	.long	0
ncpus:		.long	0

	.section .bss
	.balign 16
ap_stacks:
	.space	AP_STACK * (MAX_APIC_ID + 2)
