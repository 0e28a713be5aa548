/* Multiboot test guest: prints "reset" on COM1, then asks the keyboard
 * controller for a CPU reset (0xFE to port 0x64): exit status 0. */
#include "mb.inc"

guest_main:
	lea	msg, %esi
	call	puts
	jmp	reset

	.section .rodata
msg:	.asciz	"reset\n"
