/* Multiboot test guest for QEMU's fw_cfg (-l fwcfg,qemu, src/hw/fwcfg.h),
 * through the selector (0x510) and data (0x511) ports and the DMA
 * interface (0x514), printing on COM1:
 *   sig QEMU                   item 0x00
 *   id 0x00000003              item 0x01: traditional and DMA interfaces
 *   ram 0x........ 0x........  item 0x03, high and low halves
 *   cpus N / max N             items 0x05 and 0x0f
 *   files N                    the directory (0x19), then for each file
 *   file NAME sel 0x.... size N
 *   data NAME: CONTENTS        its bytes through the data port (NULs not
 *                              shown; at most 255)
 *   dma sig QEMU CFG           the DMA address register read back
 *   dma read 0x00000000: ...   the last file by DMA (select + read)
 *   dma skip 0x00000000: ...   select, skip 6 bytes, then read 5
 *   dma bad 0x00000001         a read to 0xD0000000 (no RAM there): the
 *                              error bit, and no data
 *   dma write 0x00000001       a write: every item is read-only
 *   past end 0x00000000        a byte read after the signature's four
 * then returns (reset, exit status 0). */
#include "mb.inc"

#define SELECTOR	0x510
#define DATA		0x511
#define DMA_HI		0x514
#define DMA_LO		0x518
#define DMA_ERROR	0x01
#define DMA_READ	0x02
#define DMA_SKIP	0x04
#define DMA_SELECT	0x08
#define DMA_WRITE	0x10
#define DIR_ENTRY	64
#define MAX_FILES	8
#define BUF_SIZE	256
#define NO_RAM		0xD0000000

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
	call	t_items
	call	t_dir
	call	t_dma
	SAY	m_past
	xor	%eax, %eax
	call	select
	lea	buf, %edi
	mov	$5, %ecx
	call	fw_read
	movzbl	buf + 4, %eax
	call	puthex
	NL
	ret

/* Selector %ax. */
select:
	push	%edx
	mov	$SELECTOR, %dx
	out	%ax, %dx
	pop	%edx
	ret

/* %ecx bytes of the selected item to %edi (string I/O). */
fw_read:
	push	%edx
	push	%edi
	push	%ecx
	mov	$DATA, %dx
	rep insb
	pop	%ecx
	pop	%edi
	pop	%edx
	ret

/* %eax = the next four bytes, little-endian. */
fw_read32:
	push	%edi
	push	%ecx
	lea	tmp, %edi
	mov	$4, %ecx
	call	fw_read
	mov	tmp, %eax
	pop	%ecx
	pop	%edi
	ret

/* The %ecx bytes at %esi that are not NUL. */
put_bytes:
	push	%esi
	push	%ecx
	push	%eax
	test	%ecx, %ecx
	jz	3f
1:	lodsb
	test	%al, %al
	jz	2f
	call	putc
2:	dec	%ecx
	jnz	1b
3:	pop	%eax
	pop	%ecx
	pop	%esi
	ret

t_items:
	SAY	m_sig
	mov	$0x00, %ax
	call	select
	lea	buf, %edi
	mov	$4, %ecx
	call	fw_read
	lea	buf, %esi
	call	put_bytes
	NL
	SAY	m_id
	mov	$0x01, %ax
	call	select
	call	fw_read32
	call	puthex
	NL
	SAY	m_ram
	mov	$0x03, %ax
	call	select
	call	fw_read32
	mov	%eax, %ebx
	call	fw_read32
	call	puthex
	mov	$' ', %al
	call	putc
	mov	%ebx, %eax
	call	puthex
	NL
	SAY	m_cpus
	mov	$0x05, %ax
	call	select
	call	fw_read32		/* 16-bit item: bytes 3-4 read as 0 */
	call	putdec
	NL
	SAY	m_max
	mov	$0x0F, %ax
	call	select
	call	fw_read32
	call	putdec
	NL
	ret

/* The directory, then each file's bytes through the data port. */
t_dir:
	mov	$0x19, %ax
	call	select
	call	fw_read32
	bswap	%eax			/* big-endian count */
	mov	%eax, nfiles
	SAY	m_files
	call	putdec
	NL
	mov	nfiles, %ecx
	cmp	$MAX_FILES, %ecx
	jbe	1f
	mov	$MAX_FILES, %ecx
1:	mov	%ecx, nfiles
	shl	$6, %ecx		/* DIR_ENTRY bytes each */
	lea	dir, %edi
	call	fw_read
	xor	%ebx, %ebx
2:	cmp	nfiles, %ebx
	jae	4f
	mov	%ebx, %edi
	shl	$6, %edi
	add	$dir, %edi
	SAY	m_file
	lea	8(%edi), %esi
	call	puts
	SAY	m_sel
	movzwl	4(%edi), %eax
	xchg	%al, %ah
	call	puthex
	SAY	m_size
	mov	(%edi), %eax
	bswap	%eax
	call	putdec
	NL
	inc	%ebx
	jmp	2b
4:	xor	%ebx, %ebx
5:	cmp	nfiles, %ebx
	jae	7f
	mov	%ebx, %edi
	shl	$6, %edi
	add	$dir, %edi
	SAY	m_data
	lea	8(%edi), %esi
	call	puts
	mov	$':', %al
	call	putc
	mov	$' ', %al
	call	putc
	movzwl	4(%edi), %eax
	xchg	%al, %ah
	call	select
	mov	(%edi), %ecx
	bswap	%ecx
	cmp	$BUF_SIZE - 1, %ecx
	jbe	6f
	mov	$BUF_SIZE - 1, %ecx
6:	lea	buf, %edi
	call	fw_read
	lea	buf, %esi
	call	put_bytes
	NL
	inc	%ebx
	jmp	5b
7:	ret

/* One FWCfgDmaAccess: control %eax, length %ebx, address %edi (all
 * native; stored big-endian).  Returns the control word read back,
 * native, in %eax. */
dma:
	push	%edx
	bswap	%eax
	mov	%eax, desc
	bswap	%ebx
	mov	%ebx, desc + 4
	bswap	%ebx
	movl	$0, desc + 8
	bswap	%edi
	mov	%edi, desc + 12
	bswap	%edi
	mov	$DMA_HI, %dx
	xor	%eax, %eax
	out	%eax, %dx
	mov	$desc, %eax
	bswap	%eax
	mov	$DMA_LO, %dx
	out	%eax, %dx
	mov	desc, %eax
	bswap	%eax
	pop	%edx
	ret

/* The selector of the last file listed, in %eax (0 without files). */
last_sel:
	xor	%eax, %eax
	mov	nfiles, %ecx
	test	%ecx, %ecx
	jz	1f
	dec	%ecx
	shl	$6, %ecx
	movzwl	dir + 4(%ecx), %eax
	xchg	%al, %ah
1:	ret

t_dma:
	SAY	m_dmasig
	mov	$DMA_HI, %dx
	in	%dx, %eax
	mov	%eax, buf
	mov	$DMA_LO, %dx
	in	%dx, %eax
	mov	%eax, buf + 4
	lea	buf, %esi
	mov	$8, %ecx
	call	put_bytes
	NL
	/* Select + read of the last file. */
	lea	buf, %edi
	mov	$BUF_SIZE, %ecx
	xor	%al, %al
	rep stosb
	call	last_sel
	shl	$16, %eax
	or	$DMA_SELECT | DMA_READ, %eax
	mov	$32, %ebx
	lea	buf, %edi
	call	dma
	SAY	m_dmaread
	call	puthex
	mov	$':', %al
	call	putc
	mov	$' ', %al
	call	putc
	lea	buf, %esi
	mov	$32, %ecx
	call	put_bytes
	NL
	/* Select + skip 6, then a read of 5 at the offset reached. */
	call	last_sel
	shl	$16, %eax
	or	$DMA_SELECT | DMA_SKIP, %eax
	mov	$6, %ebx
	xor	%edi, %edi
	call	dma
	lea	buf, %edi
	mov	$BUF_SIZE, %ecx
	xor	%al, %al
	rep stosb
	mov	$DMA_READ, %eax
	mov	$5, %ebx
	lea	buf, %edi
	call	dma
	SAY	m_dmaskip
	call	puthex
	mov	$':', %al
	call	putc
	mov	$' ', %al
	call	putc
	lea	buf, %esi
	mov	$16, %ecx
	call	put_bytes
	NL
	/* A buffer where there is no RAM. */
	call	last_sel
	shl	$16, %eax
	or	$DMA_SELECT | DMA_READ, %eax
	mov	$4, %ebx
	mov	$NO_RAM, %edi
	call	dma
	SAY	m_dmabad
	call	puthex
	NL
	/* A write. */
	call	last_sel
	shl	$16, %eax
	or	$DMA_SELECT | DMA_WRITE, %eax
	mov	$4, %ebx
	lea	buf, %edi
	call	dma
	SAY	m_dmawrite
	call	puthex
	NL
	ret

	.section .rodata
m_start:	.asciz	"fwcfg\n"
m_sig:		.asciz	"sig "
m_id:		.asciz	"id "
m_ram:		.asciz	"ram "
m_cpus:		.asciz	"cpus "
m_max:		.asciz	"max "
m_files:	.asciz	"files "
m_file:		.asciz	"file "
m_sel:		.asciz	" sel "
m_size:		.asciz	" size "
m_data:		.asciz	"data "
m_dmasig:	.asciz	"dma sig "
m_dmaread:	.asciz	"dma read "
m_dmaskip:	.asciz	"dma skip "
m_dmabad:	.asciz	"dma bad "
m_dmawrite:	.asciz	"dma write "
m_past:		.asciz	"past end "

	.section .bss
	.balign 16
desc:	.space	16
tmp:	.space	4
nfiles:	.space	4
buf:	.space	BUF_SIZE
dir:	.space	DIR_ENTRY * MAX_FILES
