/* Multiboot test guest: prints "triple" on COM1, then loads an IDT of
 * limit 0 and runs ud2: #UD, #GP and #DF cannot be delivered, the CPU shuts
 * down (a triple fault): exit status 3. */
#include "mb.inc"

guest_main:
	lea	msg, %esi
	call	puts
	lidt	empty_idt
	ud2
	jmp	hang

	.section .rodata
msg:	.asciz	"triple\n"
	.balign 8
empty_idt:
	.word	0
	.long	0
