/* Test guest: prints "hello from guest" on COM1, then asks the keyboard
 * controller for a CPU reset (0xFE to port 0x64), which bhyve treats as a
 * reboot: exit status 0 (SPEC §3). */
#include "bzhdr.inc"

#define KBC_CMD		0x64
#define KBC_PULSE_RESET	0xFE

	GUEST_ENTRY
	lea	msg(%rip), %rsi
	call	com1_puts
	mov	$KBC_PULSE_RESET, %al
	out	%al, $KBC_CMD
	GUEST_HANG

	GUEST_COM1_PUTS

	.section .rodata
msg:
	.asciz "hello from guest\n"

	GUEST_END
