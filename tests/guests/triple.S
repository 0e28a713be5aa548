/* Test guest: prints "triple" on COM1, then triple-faults.  With an IDT of
 * limit 0, the #UD of ud2 cannot be delivered (#GP), neither can the #GP
 * (#DF), nor the #DF: the CPU shuts down, which KVM reports as a triple fault
 * and bhyve turns into exit status 3 (SPEC §3).  (ud2 rather than int3: some
 * KVM hosts try to emulate a failed int3 delivery and stop with an internal
 * error instead of a shutdown.) */
#include "bzhdr.inc"

	GUEST_ENTRY
	lea	msg(%rip), %rsi
	call	com1_puts
	lidt	empty_idt(%rip)
	ud2
	GUEST_HANG

	GUEST_COM1_PUTS

	.section .rodata
msg:
	.asciz "triple\n"
	.balign 16
empty_idt:
	.word 0		/* limit 0: every vector is out of bounds */
	.quad 0

	GUEST_END
