/* Test guest for the GDB stub (bhyve -G): calls target_fn, where the
 * debugger puts a breakpoint, spins in wait_go until the debugger sets the
 * byte `go` (so a test can interrupt a running guest), then prints the
 * string `message` on COM1 and resets (0xFE to port 0x64: exit status 0).
 * The debugger changes `message` while the guest is stopped and checks that
 * the guest prints the new text.  Without a debugger it spins forever.
 * Symbols are kept in build/guests/gdbtarget.elf. */
#include "bzhdr.inc"

#define KBC_CMD		0x64
#define KBC_PULSE_RESET	0xFE

	GUEST_ENTRY
	mov	$1, %ebx
	call	target_fn
	.globl	wait_go
wait_go:
	pause
	cmpb	$0, go(%rip)
	je	wait_go
	lea	message(%rip), %rsi
	call	com1_puts
	lea	newline(%rip), %rsi
	call	com1_puts
	mov	$KBC_PULSE_RESET, %al
	out	%al, $KBC_CMD
	GUEST_HANG

	.section .text, "ax"
	.globl	target_fn
	.type	target_fn, @function
target_fn:
	add	$41, %ebx
	nop
	ret
	.size	target_fn, . - target_fn

	GUEST_COM1_PUTS

	/* In .data so that it is writable by name: the guest's identity map
	 * does not enforce write protection anyway. */
	.section .data
	.globl	message
	.type	message, @object
message:
	.asciz	"original"
	.size	message, . - message
newline:
	.asciz	"\n"
	.globl	go
go:
	.byte	0

	GUEST_END
