/* Test guest: prints "poweroff" on COM1, then requests the ACPI S5 sleep
 * state through the PM1a control register (SLP_TYP 5 with SLP_EN at port
 * 0x404, ACPI 6.5 §4.8.3.2.1): the runner exits 1 (powered off). */
#include "bzhdr.inc"

#define PM1A_CNT	0x404
#define SLP_S5		((5 << 10) | (1 << 13))

	GUEST_ENTRY
	lea	msg(%rip), %rsi
	call	com1_puts
	mov	$PM1A_CNT, %dx
	mov	$SLP_S5, %ax
	out	%ax, %dx
	GUEST_HANG

	GUEST_COM1_PUTS

	.section .rodata
msg:
	.asciz "poweroff\n"

	GUEST_END
