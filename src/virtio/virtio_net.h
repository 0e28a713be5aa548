/* virtio-net (virtio 1.2 §5.1), registered as the PCI emulation
 * "virtio-net":
 *   -s N,virtio-net,BACKEND[,mac=xx:xx:xx:xx:xx:xx][,mtu=N][,hostfwd=...]
 * BACKEND is a tap interface name or "slirp" (src/net/netbe.h).  Keys under
 * the function's node: backend, mac, mtu (bhyve_config(5)); for slirp also
 * hostfwd and restrict.
 *
 * This header exposes the transport-free engine for the unit tests and the
 * fuzz target: the PCI glue feeds it queue notifications, configuration
 * accesses and resets, and it calls back for interrupts. */
#ifndef BHYVE_VIRTIO_VIRTIO_NET_H
#define BHYVE_VIRTIO_VIRTIO_NET_H

#include <stdint.h>

#include "virtio/virtqueue.h"

struct netbe;
struct vnet;

#define VIRTIO_ID_NET	     1
#define VIRTIO_PCI_DEVID_NET 0x1000

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_CSUM		 0
#define VIRTIO_NET_F_GUEST_CSUM		 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU		 3
#define VIRTIO_NET_F_MAC		 5
#define VIRTIO_NET_F_GUEST_TSO4		 7
#define VIRTIO_NET_F_GUEST_TSO6		 8
#define VIRTIO_NET_F_GUEST_ECN		 9
#define VIRTIO_NET_F_GUEST_UFO		 10
#define VIRTIO_NET_F_HOST_TSO4		 11
#define VIRTIO_NET_F_HOST_TSO6		 12
#define VIRTIO_NET_F_HOST_ECN		 13
#define VIRTIO_NET_F_HOST_UFO		 14
#define VIRTIO_NET_F_MRG_RXBUF		 15
#define VIRTIO_NET_F_STATUS		 16
#define VIRTIO_NET_F_CTRL_VQ		 17
#define VIRTIO_NET_F_CTRL_RX		 18
#define VIRTIO_NET_F_CTRL_VLAN		 19
#define VIRTIO_NET_F_CTRL_MAC_ADDR	 23
#define VIRTIO_F_ANY_LAYOUT		 27

#define VIRTIO_NET_S_LINK_UP 1

/* The header before every frame (§5.1.6): flags, gso_type, le16 hdr_len,
 * gso_size, csum_start, csum_offset and, in the 12-byte form (VERSION_1 or
 * MRG_RXBUF), le16 num_buffers. */
#define VIRTIO_NET_HDR_LEN	    10
#define VIRTIO_NET_HDR_MRG_LEN	    12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE	    0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP	    3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN	    0x80

/* Control queue (§5.1.6.5): u8 class, u8 command, data, u8 ack. */
#define VIRTIO_NET_OK			   0
#define VIRTIO_NET_ERR			   1
#define VIRTIO_NET_CTRL_RX		   0
#define VIRTIO_NET_CTRL_RX_PROMISC	   0
#define VIRTIO_NET_CTRL_RX_ALLMULTI	   1
#define VIRTIO_NET_CTRL_MAC		   1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET	   0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET	   1
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS	   5
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0

#define VNET_Q_RX     0
#define VNET_Q_TX     1
#define VNET_Q_CTRL   2
#define VNET_NQUEUES  3
#define VNET_CFG_SIZE 12 /* mac, status, max_virtqueue_pairs, mtu */
/* MAC filter entries kept per class; more means "accept the class". */
#define VNET_MAC_TABLE 64

struct vnet_hooks {
	void (*irq)(void *arg, int q);	   /* used-ring interrupt wanted */
	void (*broken)(void *arg);	   /* the guest broke a ring */
	uint64_t (*negotiated)(void *arg); /* features the driver accepted */
	void *arg;
};

struct vnet_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_filtered; /* not for our addresses */
	uint64_t rx_too_big;  /* larger than the guest's buffers */
	uint64_t rx_bad;      /* runts, offloads the guest did not accept */
	uint64_t rx_errors;   /* back-end read errors */
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_bad;    /* malformed header or length */
	uint64_t tx_errors; /* back-end write errors */
	uint64_t ctrl_ok, ctrl_err;
};

/* be may be NULL (no network: frames sent are dropped).  mtu 0: no
 * VIRTIO_NET_F_MTU.  The engine registers itself as be's receive
 * callback; receiving starts when the driver first kicks the receive
 * queue. */
int vnet_new(struct netbe *be, const uint8_t mac[6], unsigned mtu, const struct vnet_hooks *h,
	     struct vnet **out);
/* Does not close the back end. */
void vnet_free(struct vnet *sc);
void vnet_set_queues(struct vnet *sc, struct virtqueue *rx, struct virtqueue *tx,
		     struct virtqueue *ctrl);
uint64_t vnet_features(const struct vnet *sc);
/* Device configuration, off + size <= VNET_CFG_SIZE. */
uint32_t vnet_cfgread(struct vnet *sc, uint32_t off, int size);
void vnet_cfgwrite(struct vnet *sc, uint32_t off, int size, uint32_t val);
void vnet_notify(struct vnet *sc, int q);
/* Stop touching the queues; drop what is half delivered. */
void vnet_reset(struct vnet *sc);
void vnet_get_stats(struct vnet *sc, struct vnet_stats *st);

/* A transmitted frame's header against the negotiated features: 0 or
 * -EINVAL (offloads not negotiated, checksum or segment fields outside the
 * frame of frame_len bytes). */
int vnet_check_tx_hdr(const uint8_t hdr[VIRTIO_NET_HDR_LEN], uint32_t frame_len, uint64_t features);

#endif
