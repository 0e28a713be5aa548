/* Multiboot test guest: rdmsr and wrmsr of MSR 0xC0011FFF, which KVM does
 * not implement, so it reaches the runner.  By default the runner injects
 * #GP: the IDT reports "trap 0x0000000d err 0x00000000" and the guest goes
 * on after the instruction, with EDX:EAX unchanged (0xdeadbeef).  With -w
 * the read gives 0 and the write is dropped.  Then a reset: exit status 0. */
#include "mb.inc"

#define NO_MSR		0xC0011FFF
#define RDMSR_LEN	2
#define WRMSR_LEN	2

guest_main:
	lea	m_start, %esi
	call	puts
	mov	$NO_MSR, %ecx
	mov	$0xdeadbeef, %eax
	mov	%eax, %edx
	movl	$RDMSR_LEN, fault_skip
	rdmsr
	movl	$0, fault_skip
	lea	m_rd, %esi
	call	puts
	xchg	%eax, %edx
	call	puthex
	lea	m_colon, %esi
	call	puts
	mov	%edx, %eax
	call	puthex
	lea	m_nl, %esi
	call	puts
	mov	$NO_MSR, %ecx
	mov	$1, %eax
	xor	%edx, %edx
	movl	$WRMSR_LEN, fault_skip
	wrmsr
	movl	$0, fault_skip
	lea	m_wr, %esi
	call	puts
	ret

	.section .rodata
m_start: .asciz	"msr\n"
m_rd:	.asciz	"rdmsr "
m_colon: .asciz	":"
m_nl:	.asciz	"\n"
m_wr:	.asciz	"wrmsr done\n"
