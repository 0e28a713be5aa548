/* Multiboot test guest for the bvm debug port (-g, port 0x224).  Probes
 * the port as FreeBSD's bvm_dbg does (a 16-bit IN must read 'B' << 8 | 'V')
 * and prints "bvmdbg sig 0x00004256" on COM1; then echoes every byte it
 * reads from the port (32-bit IN; 0xFFFFFFFF: nothing yet) back to it
 * (32-bit OUT), until it reads 'q': then "bvmdbg done" on COM1 and a
 * reset, exit status 0. */
#include "mb.inc"

#define BVM_DBG		0x224
#define BVM_SIG		0x4256
#define NO_DATA		0xFFFFFFFF

guest_main:
	mov	$BVM_DBG, %dx
	xor	%eax, %eax
	inw	%dx, %ax
	mov	%eax, %ebx
	lea	m_sig, %esi
	call	puts
	call	puthex
	mov	$'\n', %al
	call	putc
	cmp	$BVM_SIG, %ebx
	jne	reset
	mov	$BVM_DBG, %dx
1:	inl	%dx, %eax
	cmp	$NO_DATA, %eax
	jne	2f
	pause
	jmp	1b
2:	cmp	$'q', %al
	je	3f
	outl	%eax, %dx
	jmp	1b
3:	lea	m_done, %esi
	call	puts
	ret

	.section .rodata
m_sig:	.asciz	"bvmdbg sig "
m_done:	.asciz	"bvmdbg done\n"
