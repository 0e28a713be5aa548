/* Multiboot test guest: prints "unmapped" on COM1, then reads guest-
 * physical address 0xD0000000 (paging is off), in the PCI hole where no
 * device lives: the runner aborts with the address (exit status 4). */
#include "mb.inc"

#define HOLE	0xD0000000

guest_main:
	lea	msg, %esi
	call	puts
	mov	HOLE, %eax
	lea	m_bad, %esi
	call	puts
	ret

	.section .rodata
msg:	.asciz	"unmapped\n"
m_bad:	.asciz	"read returned\n"
