/* SPDX-License-Identifier: MIT */
/*
 * virtio-net's numbers as the virtio 1.2 spec gives them, for the tests
 * and the fuzz target: feature bits (5.1.3) and struct virtio_net_hdr's
 * flags and gso_type (5.1.6).  Written from the spec, not taken from
 * plugins/virtio-mmio/net.c, so that a wrong bit there shows.
 */
#ifndef AVMM_TEST_VNET_SPEC_H
#define AVMM_TEST_VNET_SPEC_H

#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define F_MTU (1ull << 3)
#define F_MAC (1ull << 5)
#define F_GUEST_TSO4 (1ull << 7)
#define F_GUEST_TSO6 (1ull << 8)
#define F_GUEST_ECN (1ull << 9)
#define F_GUEST_UFO (1ull << 10)
#define F_HOST_TSO4 (1ull << 11)
#define F_HOST_TSO6 (1ull << 12)
#define F_HOST_ECN (1ull << 13)
#define F_HOST_UFO (1ull << 14)
#define F_MRG_RXBUF (1ull << 15)
#define F_STATUS (1ull << 16)
#define F_CTRL_VQ (1ull << 17)
#define F_MQ (1ull << 22)

/* What the device offers over a backend with vnet headers (the tap): all but UFO. */
#define F_OFFLOADS                                                                     \
	(F_CSUM | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6 | F_GUEST_ECN | F_HOST_TSO4 | \
	 F_HOST_TSO6 | F_HOST_ECN)

#define H_NEEDS_CSUM 1u
#define H_DATA_VALID 2u
#define H_GSO_TCPV4 1u
#define H_GSO_UDP 3u
#define H_GSO_TCPV6 4u
#define H_GSO_ECN 0x80u

#endif
