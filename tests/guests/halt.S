/* Test guest: prints "halting" on COM1, then stops with interrupts disabled
 * (cli; hlt), which bhyve reports as exit status 2 (SPEC §3). */
#include "bzhdr.inc"

	GUEST_ENTRY
	lea	msg(%rip), %rsi
	call	com1_puts
	cli
1:	hlt
	jmp	1b

	GUEST_COM1_PUTS

	.section .rodata
msg:
	.asciz "halting\n"

	GUEST_END
