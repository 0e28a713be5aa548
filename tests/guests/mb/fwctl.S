/* Multiboot test guest for bhyve's fwctl interface (-l fwcfg,bhyve,
 * src/hw/fwctl.h), printing on COM1:
 *   sig BHYV                          after a 16-bit write of 0 to 0x510,
 *                                     four byte reads of 0x511
 *   getlen hw.ncpu err 0 len 4 hi 0   GET_LEN (4): a 64-bit length (low
 *                                     and high words)
 *   get hw.ncpu err 0 len 4 val N     GET (3): length, then the value
 *   get hw.nope err 2                 an unknown name: ENOENT, no data
 *   op 9 err 2                        an unknown operation: ENOENT
 * each response's size, operation and transaction ID checked against the
 * request ("bad response" otherwise), then returns (reset, exit 0). */
#include "mb.inc"

#define PORT		0x510
#define IPORT		0x511
#define OP_GET		3
#define OP_GET_LEN	4
#define MAX_WORDS	16

.macro SAY msg
	lea	\msg, %esi
	call	puts
.endm

.macro NL
	mov	$'\n', %al
	call	putc
.endm

guest_main:
	SAY	m_start
	mov	$PORT, %dx
	xor	%eax, %eax
	out	%ax, %dx
	mov	$IPORT, %dx
	lea	tmp, %edi
	mov	$4, %ecx
	rep insb
	SAY	m_sig
	lea	tmp, %esi
	mov	$4, %ecx
1:	lodsb
	call	putc
	dec	%ecx
	jnz	1b
	NL

	SAY	m_getlen
	mov	$OP_GET_LEN, %eax
	lea	n_ncpu, %esi
	mov	$n_ncpu_len, %ecx
	call	request
	call	print_err
	SAY	m_len
	mov	resp, %eax
	call	putdec
	SAY	m_hi
	mov	resp + 4, %eax
	call	putdec
	NL

	SAY	m_get
	mov	$OP_GET, %eax
	lea	n_ncpu, %esi
	mov	$n_ncpu_len, %ecx
	call	request
	call	print_err
	SAY	m_len
	mov	resp, %eax
	call	putdec
	SAY	m_val
	mov	resp + 8, %eax
	call	putdec
	NL

	SAY	m_nope
	mov	$OP_GET, %eax
	lea	n_nope, %esi
	mov	$n_nope_len, %ecx
	call	request
	call	print_err
	NL

	SAY	m_op
	mov	$9, %eax
	lea	n_ncpu, %esi
	mov	$n_ncpu_len, %ecx
	call	request
	call	print_err
	NL
	ret

/* " err N" from the response header. */
print_err:
	SAY	m_err
	mov	rhdr + 12, %eax
	call	putdec
	ret

/* Request operation %eax with %ecx bytes of data at %esi (a multiple of
 * four); the response header goes to rhdr, its data (up to MAX_WORDS
 * words) to resp. */
request:
	pusha
	mov	%eax, %ebx
	mov	$PORT, %dx
	lea	12(%ecx), %eax
	out	%eax, %dx
	mov	%ebx, %eax
	out	%eax, %dx
	incl	txid
	mov	txid, %eax
	out	%eax, %dx
	shr	$2, %ecx
	jz	2f
1:	lodsl
	out	%eax, %dx
	dec	%ecx
	jnz	1b
2:	lea	rhdr, %edi
	mov	$4, %ecx
3:	in	%dx, %eax
	stosl
	dec	%ecx
	jnz	3b
	/* Size, operation and transaction ID must match. */
	mov	rhdr, %ecx
	sub	$16, %ecx
	jb	6f
	test	$3, %ecx
	jnz	6f
	cmp	rhdr + 4, %ebx
	jne	6f
	mov	txid, %eax
	cmp	rhdr + 8, %eax
	jne	6f
	shr	$2, %ecx
	cmp	$MAX_WORDS, %ecx
	ja	6f
	lea	resp, %edi
	test	%ecx, %ecx
	jz	5f
4:	in	%dx, %eax
	stosl
	dec	%ecx
	jnz	4b
5:	popa
	ret
6:	SAY	m_bad
	jmp	hang

	.section .rodata
	.balign 4
n_ncpu:	.asciz	"hw.ncpu"
	.balign 4
n_ncpu_len = . - n_ncpu
n_nope:	.asciz	"hw.nope"
	.balign 4
n_nope_len = . - n_nope
m_start:	.asciz	"fwctl\n"
m_sig:		.asciz	"sig "
m_getlen:	.asciz	"getlen hw.ncpu"
m_get:		.asciz	"get hw.ncpu"
m_nope:		.asciz	"get hw.nope"
m_op:		.asciz	"op 9"
m_err:		.asciz	" err "
m_len:		.asciz	" len "
m_val:		.asciz	" val "
m_hi:		.asciz	" hi "
m_bad:		.asciz	"bad response\n"

	.section .data
	.balign 4
txid:	.long	0x100

	.section .bss
	.balign 4
tmp:	.space	4
rhdr:	.space	16
resp:	.space	4 * MAX_WORDS
