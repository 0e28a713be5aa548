/* Multiboot test guest for the bvm console (-b, port 0x220).  Probes the
 * port the way FreeBSD's bvm_console does (a 16-bit IN must read 'b' << 8 |
 * 'v'), then writes through it with 32-bit OUTs:
 *   "bvmcons sig 0x00006276"
 * then reads input with 32-bit INs (0xFFFFFFFF: nothing yet) until a
 * newline or a long quiet spell, and writes back "got: <line>"; a guest
 * that sees no input at all writes "got nothing".  Then a reset: exit
 * status 0.  Nothing goes to COM1. */
#include "mb.inc"

#define BVM_CONS	0x220
#define BVM_SIG		0x6276
#define NO_DATA		0xFFFFFFFF
#define LINE_MAX	64
/* Time stamp counter ticks without a byte before giving up (about a
 * second at 2 GHz; the test sends its input before the guest starts, or
 * never). */
#define QUIET_TICKS	0x80000000

guest_main:
	mov	$BVM_CONS, %dx
	xor	%eax, %eax
	inw	%dx, %ax
	cmp	$BVM_SIG, %eax
	jne	reset
	lea	m_sig, %esi
	call	bvm_puts
	call	bvm_puthex
	lea	m_nl, %esi
	call	bvm_puts
	xor	%edi, %edi		/* bytes in line */
1:	call	deadline
2:	inl	%dx, %eax
	cmp	$NO_DATA, %eax
	jne	3f
	pause
	call	expired
	jc	4f
	jmp	2b
3:	cmp	$'\n', %al
	je	4f
	cmp	$LINE_MAX, %edi
	jae	1b
	mov	%al, line(%edi)
	inc	%edi
	jmp	1b
4:	test	%edi, %edi
	jz	5f
	movb	$0, line(%edi)
	lea	m_got, %esi
	call	bvm_puts
	lea	line, %esi
	call	bvm_puts
	lea	m_nl, %esi
	call	bvm_puts
	ret
5:	lea	m_nothing, %esi
	call	bvm_puts
	ret

/* Set the deadline QUIET_TICKS from now (keeps every register). */
deadline:
	push	%eax
	push	%edx
	rdtsc
	add	$QUIET_TICKS, %eax
	adc	$0, %edx
	mov	%eax, until
	mov	%edx, until + 4
	pop	%edx
	pop	%eax
	ret

/* CF set once the deadline has passed (keeps every register). */
expired:
	push	%eax
	push	%edx
	rdtsc
	sub	until, %eax
	sbb	until + 4, %edx		/* now - until: no borrow once passed */
	cmc
	pop	%edx
	pop	%eax
	ret

/* The NUL-terminated string at %esi, one 32-bit OUT per byte. */
bvm_puts:
	push	%eax
	push	%edx
	push	%esi
	mov	$BVM_CONS, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	movzbl	%al, %eax
	outl	%eax, %dx
	jmp	1b
2:	pop	%esi
	pop	%edx
	pop	%eax
	ret

/* %eax as 0x%08x on the bvm console. */
bvm_puthex:
	pusha
	mov	%eax, %ebx
	lea	m_0x, %esi
	call	bvm_puts
	mov	$BVM_CONS, %dx
	mov	$8, %ecx
1:	rol	$4, %ebx
	mov	%ebx, %eax
	and	$0xF, %eax
	movzbl	hexdigits(%eax), %eax
	outl	%eax, %dx
	dec	%ecx
	jnz	1b
	popa
	ret

	.section .rodata
m_sig:	.asciz	"bvmcons sig "
m_0x:	.asciz	"0x"
m_nl:	.asciz	"\n"
m_got:	.asciz	"got: "
m_nothing: .asciz "got nothing\n"

	.section .bss
line:	.space	LINE_MAX + 1
	.balign 8
until:	.quad	0
