/* Multiboot test guest: an idle loop.  The local APIC timer ticks
 * periodically (vector 0x40, SDM vol. 3 §10.5.4); the guest runs "sti; hlt"
 * until it has seen N ticks (N from the command line, default 50), prints
 * "hltloop N" on COM1 and resets (exit status 0).  With -H each HLT is a
 * VM exit, visible in the runner's statistics. */
#include "mb.inc"

#define TIMER_VECTOR	0x40
#define TIMER_PERIODIC	(1 << 17)
#define TIMER_DIV_1	0xB
#define TIMER_COUNT	1000000		/* 1 ms with KVM's 1 GHz APIC bus */
#define SVR_ENABLE	0x100
#define DEFAULT_TICKS	50

guest_main:
	lea	m_start, %esi
	call	puts
	call	cmdline_num
	test	%eax, %eax
	jnz	1f
	mov	$DEFAULT_TICKS, %eax
1:	mov	%eax, %ebx
	movl	$timer_isr, handlers + TIMER_VECTOR * 4
	movl	$0xFF | SVR_ENABLE, LAPIC_SVR
	movl	$TIMER_DIV_1, LAPIC_TMR_DIV
	movl	$TIMER_VECTOR | TIMER_PERIODIC, LAPIC_LVT_TIMER
	movl	$TIMER_COUNT, LAPIC_TMR_INIT
2:	sti
	hlt
	cli
	cmp	%ebx, ticks
	jb	2b
	movl	$0, LAPIC_TMR_INIT
	lea	m_done, %esi
	call	puts
	mov	%ebx, %eax
	call	putdec
	mov	$'\n', %al
	call	putc
	ret

timer_isr:
	incl	ticks
	movl	$0, LAPIC_EOI
	ret

	.section .rodata
m_start: .asciz	"hltloop\n"
m_done:	.asciz	"hltloop "

	.section .bss
ticks:	.long	0
