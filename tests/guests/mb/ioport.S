/* Multiboot test guest: reads port 0x6E0, which nothing emulates, with
 * 8-, 16- and 32-bit IN (all-ones expected), writes it (dropped), prints the
 * values on COM1 and resets: exit status 0.  With -e the first IN aborts
 * the VM (exit status 4). */
#include "mb.inc"

#define NO_PORT	0x6E0

guest_main:
	lea	m_start, %esi
	call	puts
	mov	$NO_PORT, %dx
	xor	%eax, %eax
	inb	%dx, %al
	lea	m_in8, %esi
	call	puts
	call	puthex
	xor	%eax, %eax
	inw	%dx, %ax
	lea	m_in16, %esi
	call	puts
	call	puthex
	xor	%eax, %eax
	inl	%dx, %eax
	lea	m_in32, %esi
	call	puts
	call	puthex
	mov	$0x12345678, %eax
	outb	%al, %dx
	outw	%ax, %dx
	outl	%eax, %dx
	lea	m_out, %esi
	call	puts
	ret

	.section .rodata
m_start: .asciz	"ioport\n"
m_in8:	.asciz	"in8 "
m_in16:	.asciz	"\nin16 "
m_in32:	.asciz	"\nin32 "
m_out:	.asciz	"\nout dropped\n"
