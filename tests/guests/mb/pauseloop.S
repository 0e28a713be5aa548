/* Multiboot test guest: a spin-wait loop of PAUSE instructions (N from the
 * command line, default 20000), then "pauseloop N" on COM1 and a reset
 * (exit status 0).  With -P, PAUSE loops exit to the hypervisor. */
#include "mb.inc"

#define DEFAULT_PAUSES	20000

guest_main:
	lea	m_start, %esi
	call	puts
	call	cmdline_num
	test	%eax, %eax
	jnz	1f
	mov	$DEFAULT_PAUSES, %eax
1:	mov	%eax, %ecx
2:	pause
	dec	%ecx
	jnz	2b
	lea	m_done, %esi
	call	puts
	call	putdec
	mov	$'\n', %al
	call	putc
	ret

	.section .rodata
m_start: .asciz	"pauseloop\n"
m_done:	.asciz	"pauseloop "
