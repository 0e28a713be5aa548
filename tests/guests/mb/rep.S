/* Multiboot test guest: string port I/O.  "rep outsb" writes a line to
 * COM1 in one instruction; "rep insb" and "rep insl" read port 0x6E0, which
 * nothing emulates, into zeroed buffers (all-ones expected), and the guest
 * prints them; then a reset: exit status 0. */
#include "mb.inc"

#define NO_PORT	0x6E0

guest_main:
	lea	line, %esi
	mov	$line_end - line, %ecx
	mov	$COM1, %dx
	rep outsb
	lea	bbuf, %edi
	mov	$8, %ecx
	mov	$NO_PORT, %dx
	rep insb
	lea	lbuf, %edi
	mov	$2, %ecx
	rep insl
	lea	m_insb, %esi
	call	puts
	mov	bbuf, %eax
	call	puthex
	lea	m_sp, %esi
	call	puts
	mov	bbuf + 4, %eax
	call	puthex
	lea	m_insl, %esi
	call	puts
	mov	lbuf, %eax
	call	puthex
	lea	m_sp, %esi
	call	puts
	mov	lbuf + 4, %eax
	call	puthex
	lea	m_nl, %esi
	call	puts
	ret

	.section .rodata
line:	.ascii	"rep outsb: the quick brown fox jumps over the lazy dog 0123456789\n"
line_end:
m_insb:	.asciz	"rep insb "
m_insl:	.asciz	"\nrep insl "
m_sp:	.asciz	" "
m_nl:	.asciz	"\n"

	.section .bss
bbuf:	.space	8
lbuf:	.space	8
