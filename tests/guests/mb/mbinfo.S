/* Multiboot test guest: prints the Multiboot information structure
 * (Multiboot 0.6.96 §3.3) the loader built, on COM1:
 *   magic 0x2badb002
 *   flags 0x........
 *   mem_lower N mem_upper N          (flag 0, KiB)
 *   mmap 0xHI:0xLO 0xHI:0xLO TYPE    (flag 6: base, length, type; each)
 *   loader NAME                      (flag 9)
 *   cmdline [TEXT]                   (flag 2: exactly, between brackets)
 *   mods N                           (flag 3), then for the first module
 *   mod aligned A after-image B size N
 *                                    A: starts on a page, B: starts past
 *                                    this image's end (bss and stack)
 *   mod string [TEXT]
 *   mod data [TEXT]                  its first bytes (up to 64)
 * then returns (reset, exit status 0). */
#include "mb.inc"

#define F_MEM		(1 << 0)
#define F_CMDLINE	(1 << 2)
#define F_MODS		(1 << 3)
#define F_MMAP		(1 << 6)
#define F_LOADER	(1 << 9)
#define MAX_MMAP	32
#define MAX_DATA	64

.macro SAY msg
	lea	\msg, %esi
	call	puts
.endm

.macro NL
	mov	$'\n', %al
	call	putc
.endm

.macro SP
	mov	$' ', %al
	call	putc
.endm

guest_main:
	SAY	m_start
	SAY	m_magic
	mov	mb_magic, %eax
	call	puthex
	NL
	mov	mb_info, %ebx
	SAY	m_flags
	mov	(%ebx), %eax
	call	puthex
	NL
	testl	$F_MEM, (%ebx)
	jz	1f
	SAY	m_lower
	mov	4(%ebx), %eax
	call	putdec
	SAY	m_upper
	mov	8(%ebx), %eax
	call	putdec
	NL
1:	testl	$F_MMAP, (%ebx)
	jz	2f
	call	print_mmap
2:	testl	$F_LOADER, (%ebx)
	jz	3f
	SAY	m_loader
	mov	64(%ebx), %esi
	call	puts
	NL
3:	testl	$F_CMDLINE, (%ebx)
	jz	4f
	SAY	m_cmdline
	mov	16(%ebx), %esi
	call	puts
	SAY	m_close
4:	testl	$F_MODS, (%ebx)
	jz	5f
	call	print_mods
5:	ret

/* Each entry: size (not counting itself), base, length, type. */
print_mmap:
	mov	48(%ebx), %esi		/* mmap_addr */
	mov	44(%ebx), %edi		/* mmap_length */
	add	%esi, %edi
	mov	$MAX_MMAP, %ecx
1:	cmp	%edi, %esi
	jae	2f
	push	%esi
	SAY	m_mmap
	pop	%esi
	mov	8(%esi), %eax
	call	puthex
	mov	$':', %al
	call	putc
	mov	4(%esi), %eax
	call	puthex
	SP
	mov	16(%esi), %eax
	call	puthex
	mov	$':', %al
	call	putc
	mov	12(%esi), %eax
	call	puthex
	SP
	mov	20(%esi), %eax
	call	putdec
	NL
	mov	(%esi), %eax
	lea	4(%esi,%eax), %esi
	dec	%ecx
	jnz	1b
2:	ret

print_mods:
	SAY	m_mods
	mov	20(%ebx), %eax
	call	putdec
	NL
	cmpl	$0, 20(%ebx)
	je	9f
	mov	24(%ebx), %edi		/* the first module entry */
	SAY	m_aligned
	xor	%eax, %eax
	testl	$0xFFF, (%edi)
	setz	%al
	call	putdec
	SAY	m_after
	xor	%eax, %eax
	cmpl	$guest_stack_top, (%edi)
	setae	%al
	call	putdec
	SAY	m_size
	mov	4(%edi), %eax
	sub	(%edi), %eax
	call	putdec
	NL
	SAY	m_string
	mov	8(%edi), %esi
	call	puts
	SAY	m_close
	SAY	m_data
	mov	(%edi), %esi
	mov	4(%edi), %ecx
	sub	%esi, %ecx
	cmp	$MAX_DATA, %ecx
	jbe	1f
	mov	$MAX_DATA, %ecx
1:	test	%ecx, %ecx
	jz	3f
2:	lodsb
	call	putc
	dec	%ecx
	jnz	2b
3:	SAY	m_close
9:	ret

	.section .rodata
m_start:	.asciz	"mbinfo\n"
m_magic:	.asciz	"magic "
m_flags:	.asciz	"flags "
m_lower:	.asciz	"mem_lower "
m_upper:	.asciz	" mem_upper "
m_mmap:		.asciz	"mmap "
m_loader:	.asciz	"loader "
m_cmdline:	.asciz	"cmdline ["
m_close:	.asciz	"]\n"
m_mods:		.asciz	"mods "
m_aligned:	.asciz	"mod aligned "
m_after:	.asciz	" after-image "
m_size:		.asciz	" size "
m_string:	.asciz	"mod string ["
m_data:		.asciz	"mod data ["
