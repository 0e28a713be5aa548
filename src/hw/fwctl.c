/* bhyve's fwctl interface: see fwctl.h for the protocol.  The request's
 * size and data come from the guest: the name is kept in a fixed buffer
 * and anything past it is counted, never stored. */
#include "hw/fwctl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "inout.h"
#include "le.h"
#include "log.h"

#define HDR_REQ_WORDS  3 /* size, operation, transaction ID */
#define HDR_REQ_BYTES  12
#define HDR_RESP_WORDS 4 /* size, operation, transaction ID, error */
#define LEN_BYTES      8 /* the 64-bit length before a value */

static const uint8_t signature[4] = { 'B', 'H', 'Y', 'V' };

enum fwctl_state {
	FWCTL_IDLE, /* until the guest writes 0 to the port */
	FWCTL_SIG,  /* sending the signature */
	FWCTL_REQ,  /* taking a request */
	FWCTL_RESP, /* sending the response */
};

struct fwctl_value {
	char *name;
	uint8_t *data;
	size_t len;
};

struct fwctl {
	pthread_mutex_t lock;
	enum fwctl_state state;
	unsigned sig_idx;
	/* The request being received. */
	unsigned req_words;
	uint32_t req_size, req_op, req_txid;
	uint32_t data_left;
	uint8_t name[FWCTL_NAME_MAX];
	uint32_t name_len;
	/* The response being sent. */
	uint32_t resp_hdr[HDR_RESP_WORDS];
	uint8_t resp[LEN_BYTES + FWCTL_VALUE_MAX];
	uint32_t resp_len;
	uint32_t resp_pos; /* words read so far */
	struct fwctl_value values[FWCTL_MAX_VALUES];
	unsigned nvalues;
};

struct fwctl *fwctl_new(void)
{
	struct fwctl *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->state = FWCTL_IDLE;
	return c;
}

void fwctl_free(struct fwctl *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->nvalues; i++) {
		free(c->values[i].name);
		free(c->values[i].data);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int fwctl_add(struct fwctl *c, const char *name, const void *data, size_t len)
{
	struct fwctl_value *v;
	unsigned i;

	if (!c || !name || !*name || strlen(name) >= FWCTL_NAME_MAX || len > FWCTL_VALUE_MAX ||
	    (!data && len))
		return -EINVAL;
	for (i = 0; i < c->nvalues; i++) {
		if (strcmp(c->values[i].name, name) == 0)
			return -EEXIST;
	}
	if (c->nvalues >= FWCTL_MAX_VALUES)
		return -ENOSPC;
	v = &c->values[c->nvalues];
	v->name = strdup(name);
	v->data = malloc(len ? len : 1);
	if (!v->name || !v->data) {
		free(v->name);
		free(v->data);
		v->name = NULL;
		v->data = NULL;
		return -ENOMEM;
	}
	if (len)
		memcpy(v->data, data, len);
	v->len = len;
	c->nvalues++;
	return 0;
}

static void reset_request(struct fwctl *c)
{
	c->req_words = 0;
	c->req_size = c->req_op = c->req_txid = 0;
	c->data_left = 0;
	c->name_len = 0;
}

/* The name is the request data up to its first NUL. */
static const struct fwctl_value *lookup(const struct fwctl *c)
{
	const uint8_t *nul = memchr(c->name, 0, c->name_len);
	size_t len = nul ? (size_t)(nul - c->name) : c->name_len;
	unsigned i;

	for (i = 0; i < c->nvalues; i++) {
		if (strlen(c->values[i].name) == len &&
		    memcmp(c->values[i].name, c->name, len) == 0)
			return &c->values[i];
	}
	return NULL;
}

/* The request is complete: build the response and start sending it. */
static void answer(struct fwctl *c)
{
	const struct fwctl_value *v = NULL;
	uint32_t err = 0;

	c->resp_len = 0;
	/* An unknown operation and an unknown name are both ENOENT. */
	if (c->req_op != FWCTL_OP_GET && c->req_op != FWCTL_OP_GET_LEN)
		err = FWCTL_ENOENT; /* NOLINT(bugprone-branch-clone) */
	else if (c->req_size - HDR_REQ_BYTES > FWCTL_NAME_MAX)
		err = FWCTL_E2BIG;
	else if (!(v = lookup(c)))
		err = FWCTL_ENOENT;
	if (v) {
		le64_put(c->resp, v->len);
		c->resp_len = LEN_BYTES;
		if (c->req_op == FWCTL_OP_GET) {
			memcpy(c->resp + LEN_BYTES, v->data, v->len);
			c->resp_len += (uint32_t)v->len;
		}
	}
	c->resp_hdr[0] = HDR_RESP_WORDS * 4 + ((c->resp_len + 3) & ~3u);
	c->resp_hdr[1] = c->req_op;
	c->resp_hdr[2] = c->req_txid;
	c->resp_hdr[3] = err;
	c->resp_pos = 0;
	reset_request(c);
	c->state = FWCTL_RESP;
}

static void request_word(struct fwctl *c, uint32_t v)
{
	uint32_t n, i;

	switch (c->req_words) {
	case 0:
		if (v < HDR_REQ_BYTES) {
			log_debug("fwctl: request size %u is below the header's", v);
			return;
		}
		c->req_size = v;
		break;
	case 1:
		c->req_op = v;
		break;
	case 2:
		c->req_txid = v;
		c->data_left = c->req_size - HDR_REQ_BYTES;
		break;
	default:
		n = c->data_left < 4 ? c->data_left : 4;
		for (i = 0; i < n && c->name_len < FWCTL_NAME_MAX; i++)
			c->name[c->name_len++] = (uint8_t)(v >> (8 * i));
		c->data_left -= n;
		break;
	}
	if (c->req_words < HDR_REQ_WORDS)
		c->req_words++;
	if (c->req_words == HDR_REQ_WORDS && c->data_left == 0)
		answer(c);
}

static uint32_t response_word(struct fwctl *c)
{
	uint32_t words = HDR_RESP_WORDS + (c->resp_len + 3) / 4;
	uint32_t v = 0, off, i;

	if (c->resp_pos < HDR_RESP_WORDS) {
		v = c->resp_hdr[c->resp_pos];
	} else {
		off = (c->resp_pos - HDR_RESP_WORDS) * 4;
		for (i = 0; i < 4 && off + i < c->resp_len; i++)
			v |= (uint32_t)c->resp[off + i] << (8 * i);
	}
	if (++c->resp_pos >= words)
		c->state = FWCTL_REQ;
	return v;
}

static void fwctl_in(struct fwctl *c, int bytes, uint32_t *val)
{
	if (bytes == 1) {
		*val = 0xFF;
		if (c->state == FWCTL_SIG) {
			*val = signature[c->sig_idx++];
			if (c->sig_idx >= sizeof(signature))
				c->state = FWCTL_REQ;
		}
	} else if (bytes == 4) {
		*val = c->state == FWCTL_RESP ? response_word(c) : 0xFFFFFFFFu;
	} else {
		*val = 0xFFFF;
	}
}

static void fwctl_out(struct fwctl *c, int bytes, uint32_t val)
{
	if (bytes == 2 && (val & 0xFFFF) == 0) {
		/* The guest may not know where the interface stood: start
		 * over from the signature whatever the state. */
		c->state = FWCTL_SIG;
		c->sig_idx = 0;
		reset_request(c);
	} else if (bytes == 4 && c->state == FWCTL_REQ) {
		request_word(c, val);
	}
}

int fwctl_inout(void *arg, int vcpu, bool in, uint16_t port, int bytes, uint32_t *val)
{
	struct fwctl *c = arg;

	(void)vcpu;
	if ((port != FWCTL_PORT && port != FWCTL_PORT_IN) ||
	    (bytes != 1 && bytes != 2 && bytes != 4) || port + bytes > FWCTL_PORT + FWCTL_PORT_LEN)
		return -1;
	pthread_mutex_lock(&c->lock);
	if (in)
		fwctl_in(c, bytes, val);
	else
		fwctl_out(c, bytes, *val);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int fwctl_register(struct fwctl *c, struct inout *io)
{
	return inout_register(io, FWCTL_PORT, FWCTL_PORT_LEN, fwctl_inout, c, "fwctl");
}
