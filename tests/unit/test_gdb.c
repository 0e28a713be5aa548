/* Unit tests for the protocol pieces of src/debug/gdb.c: packet framing,
 * escaping, checksums and hex (GDB manual, appendix E.1). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "debug/gdb.h"

static struct gdb_rx rx;

/* Feed a string; returns the last non-NONE event (or NONE). */
static enum gdb_rx_event feed(const char *s, size_t n)
{
	enum gdb_rx_event last = GDB_RX_NONE, e;
	size_t i;

	for (i = 0; i < n; i++) {
		e = gdb_rx_feed(&rx, (uint8_t)s[i]);
		if (e != GDB_RX_NONE)
			last = e;
	}
	return last;
}

#define FEED(s) feed((s), sizeof(s) - 1)

static void test_rx_packet(void **state)
{
	gdb_rx_init(&rx);
	/* "g" sums to 0x67. */
	assert_int_equal(FEED("$g#67"), GDB_RX_PACKET);
	assert_string_equal(rx.buf, "g");
	assert_int_equal(rx.len, 1);
	/* Upper-case checksum digits are accepted. */
	assert_int_equal(FEED("$m0,4#FD"), GDB_RX_PACKET);
	assert_string_equal(rx.buf, "m0,4");
	/* Empty packet: checksum 00. */
	assert_int_equal(FEED("$#00"), GDB_RX_PACKET);
	assert_string_equal(rx.buf, "");
}

static void test_rx_bad_checksum(void **state)
{
	gdb_rx_init(&rx);
	assert_int_equal(FEED("$g#00"), GDB_RX_BAD);
	assert_int_equal(FEED("$g#6x"), GDB_RX_BAD);
	/* The parser recovers for the next packet. */
	assert_int_equal(FEED("$g#67"), GDB_RX_PACKET);
}

static void test_rx_acks_interrupt_noise(void **state)
{
	gdb_rx_init(&rx);
	assert_int_equal(gdb_rx_feed(&rx, '+'), GDB_RX_ACK);
	assert_int_equal(gdb_rx_feed(&rx, '-'), GDB_RX_NAK);
	assert_int_equal(gdb_rx_feed(&rx, 0x03), GDB_RX_INTR);
	assert_int_equal(gdb_rx_feed(&rx, 'x'), GDB_RX_NONE);
	/* 0x03 inside a packet is data, not an interrupt. */
	assert_int_equal(FEED("$\x03#03"), GDB_RX_PACKET);
	assert_int_equal(rx.buf[0], 3);
	/* A '$' inside a packet restarts it. */
	assert_int_equal(FEED("$abc$g#67"), GDB_RX_PACKET);
	assert_string_equal(rx.buf, "g");
}

static void test_rx_overflow(void **state)
{
	static char big[GDB_PKT_MAX + 16];
	unsigned sum = 0;
	char tail[4];
	size_t i;

	gdb_rx_init(&rx);
	assert_int_equal(gdb_rx_feed(&rx, '$'), GDB_RX_NONE);
	for (i = 0; i < sizeof(big); i++) {
		big[i] = 'a';
		sum += 'a';
		assert_int_equal(gdb_rx_feed(&rx, 'a'), GDB_RX_NONE);
	}
	assert_true(rx.len <= GDB_PKT_MAX);
	snprintf(tail, sizeof(tail), "#%02x", sum & 0xff);
	assert_int_equal(feed(tail, 3), GDB_RX_BAD);
	/* Exactly GDB_PKT_MAX bytes is fine. */
	sum = 0;
	gdb_rx_feed(&rx, '$');
	for (i = 0; i < GDB_PKT_MAX; i++) {
		gdb_rx_feed(&rx, 'a');
		sum += 'a';
	}
	snprintf(tail, sizeof(tail), "#%02x", sum & 0xff);
	assert_int_equal(feed(tail, 3), GDB_RX_PACKET);
	assert_int_equal(rx.len, GDB_PKT_MAX);
}

static void test_frame(void **state)
{
	char out[64];

	assert_int_equal(gdb_frame("OK", 2, out, sizeof(out)), 6);
	out[6] = '\0';
	assert_string_equal(out, "$OK#9a");
	assert_int_equal(gdb_frame("", 0, out, sizeof(out)), 4);
	out[4] = '\0';
	assert_string_equal(out, "$#00");
	/* '#', '$', '}' and '*' are escaped; the checksum covers the escapes. */
	assert_int_equal(gdb_frame("a#$}*", 5, out, sizeof(out)), 13);
	out[13] = '\0';
	assert_string_equal(out, "$a}\x03}\x04}]}\x0a#c3");
	/* Too small. */
	assert_int_equal(gdb_frame("OK", 2, out, 5), -ENOSPC);
	assert_int_equal(gdb_frame("OK", 2, out, 6), 6);
	assert_int_equal(gdb_frame("#", 1, out, 5), -ENOSPC);
}

static void test_frame_roundtrip(void **state)
{
	const char data[] = "x}y#z$*";
	char out[64];
	int n;

	n = gdb_frame(data, sizeof(data) - 1, out, sizeof(out));
	assert_true(n > 0);
	gdb_rx_init(&rx);
	assert_int_equal(feed(out, (size_t)n), GDB_RX_PACKET);
	n = gdb_unescape(rx.buf, rx.len);
	assert_int_equal(n, (int)sizeof(data) - 1);
	assert_memory_equal(rx.buf, data, sizeof(data) - 1);
}

static void test_unescape(void **state)
{
	char a[] = "a}\x03"
		   "b";
	char b[] = "ab}";

	assert_int_equal(gdb_unescape(a, 4), 3);
	assert_memory_equal(a, "a#b", 3);
	assert_int_equal(gdb_unescape(b, 3), -EINVAL);
}

static void test_hex(void **state)
{
	const uint8_t in[] = { 0x00, 0x7f, 0xa5, 0xff };
	uint8_t out[4];
	char s[16];

	gdb_hex_encode(in, sizeof(in), s);
	assert_string_equal(s, "007fa5ff");
	assert_int_equal(gdb_hex_decode("007FA5ff", 4, out), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(gdb_hex_decode("0g", 1, out), -EINVAL);
	assert_int_equal(gdb_hex_decode("0", 1, out), -EINVAL); /* NUL is not hex */
	gdb_hex_encode(in, 0, s);
	assert_string_equal(s, "");
}

static void test_parse_hex(void **state)
{
	const char *p;
	uint64_t v;

	p = "1f,4";
	assert_int_equal(gdb_parse_hex(&p, &v), 0);
	assert_true(v == 0x1f);
	assert_string_equal(p, ",4");
	p = "ffffffffffffffff";
	assert_int_equal(gdb_parse_hex(&p, &v), 0);
	assert_true(v == ~0ull);
	p = "10000000000000000"; /* 17 digits */
	assert_int_equal(gdb_parse_hex(&p, &v), -EINVAL);
	p = ",4";
	assert_int_equal(gdb_parse_hex(&p, &v), -EINVAL);
	assert_string_equal(p, ",4");
	p = "";
	assert_int_equal(gdb_parse_hex(&p, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rx_packet),
		cmocka_unit_test(test_rx_bad_checksum),
		cmocka_unit_test(test_rx_acks_interrupt_noise),
		cmocka_unit_test(test_rx_overflow),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_parse_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
