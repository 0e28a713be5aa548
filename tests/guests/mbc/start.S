/* The Multiboot runtime of tests/guests/mb (mb.inc: header, _start, GDT,
 * IDT, reset) for guests written in C: guest_main is the C function. */
#include "mb.inc"

	.globl	mb_info, mb_magic
