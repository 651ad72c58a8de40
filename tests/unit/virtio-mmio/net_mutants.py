#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Break each check of virtio-net (plugins/virtio-mmio/net.c, net_socket.c,
net_slirp.c, net_tap.c) in turn and show which cases of test_net and
test_net_tap catch it (every line must say CAUGHT).
Not part of ctest: run from the top of the tree after configuring build/:
    tests/unit/virtio-mmio/net_mutants.py [NAME...]
The sources are restored afterwards."""
import os
import re
import subprocess
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
NET = 'plugins/virtio-mmio/net.c'
SOCK = 'plugins/virtio-mmio/net_socket.c'
SLIRP = 'plugins/virtio-mmio/net_slirp.c'
TAP = 'plugins/virtio-mmio/net_tap.c'
BE = 'plugins/virtio-mmio/net_backend.h'
orig = {f: open(f).read() for f in (NET, SOCK, SLIRP, TAP, BE)}
M = [
(NET, "offer mrg_rxbuf", "VIRTIO_NET_F_STATUS |\n\t\t    VIRTIO_NET_F_MRG_RXBUF |", "VIRTIO_NET_F_STATUS |"),
(NET, "config status", "n->link_up ? VIRTIO_NET_S_LINK_UP : 0);", "VIRTIO_NET_S_LINK_UP);"),
(NET, "config max pairs", "put_le16(cfg + 8, 1);", "put_le16(cfg + 8, 0);"),
(NET, "config mtu", "put_le16(cfg + 10, n->mtu);", "put_le16(cfg + 10, 1500);"),
(NET, "config byte order", "v |= (uint32_t)cfg[offset + i] << (8 * i);", "v |= (uint32_t)cfg[offset + i] << (8 * (size - 1 - i));"),
(NET, "mac local bit", "mac[0] = 0x02;", "mac[0] = 0x00;"),
(NET, "mac from name", "vnet_default_mac(host->dev_name(n->dev), n->mac);", "vnet_default_mac(\"x\", n->mac);"),
(NET, "mac trailing", "return *s ? -EINVAL : 0;", "return 0;"),
(NET, "mac multicast", "if (n->mac[0] & 1)", "if (0)"),
(NET, "mac zero", "if (!memcmp(n->mac, zero, 6))", "if (0 && !memcmp(n->mac, zero, 6))"),
(NET, "mtu low", "if (mtu < 68 ||", "if (mtu < 60 ||"),
(NET, "mtu high", "mtu > 65535)", "mtu > 65536)"),
(NET, "tx short", "if (n->tx.read_len < VNET_HDR_LEN ||", "if (0 ||"),
(NET, "tx long", "n->tx.read_len > VNET_HDR_LEN + NETBE_FRAME_MAX) {", "n->tx.read_len > VNET_HDR_LEN + NETBE_FRAME_MAX + 1) {"),
(NET, "tx strip header", "size_t skip = n->be->vnet_hdr ? 0 : VNET_HDR_LEN;", "size_t skip = 0;"),
(NET, "tx busy holds", "if (rc == -EAGAIN)\n\t\t\tbreak;", "if (0)\n\t\t\tbreak;"),
(NET, "tx writable", "static void vnet_writable(void *opaque)\n{\n\tvnet_tx(opaque);", "static void vnet_writable(void *opaque)\n{\n\t(void)opaque;"),
(NET, "rx num_buffers", "put_le16(hdr + 10, (uint16_t)used);", "put_le16(hdr + 10, 1);"),
(NET, "rx used len", "lens[used++] = (uint32_t)room;", "lens[used++] = (uint32_t)c->write_len;"),
(SOCK, "listen closes the gone peer", "\t\tclose(s->fd);\n\t\ts->fd = -1;\n\t}", "\t}"),
(SOCK, "listen fresh stream", "\ts->len_got = s->frame_got = 0;\n\ts->frame_len = 0;", "\ts->frame_len = 0;"),
(SOCK, "listen one peer", "if (s->fd >= 0 || netsock_fd_setup(c, true)) {", "if (netsock_fd_setup(c, true)) {"),
(SOCK, "listen refusal logged once", "if (s->fd >= 0 && !s->refused_logged) {", "if (s->fd >= 0) {"),
(SOCK, "listen link up", "\ts->be.cb->link(s->be.opaque, true);", ""),
(SOCK, "listen gram refused", "if (!rc && *v) /* empty counts as absent, as for the user keys */", "if (0)"),
(SOCK, "listen reads the key", "int rc = host->cfg_bool(dev, \"listen\", &listening);", "bool ign; int rc = host->cfg_bool(dev, \"listen\", &ign);"),
(SOCK, "listen backlog", "listen(s->lfd, 1) < 0 ||", "0 ||"),
(TAP, "tap error asks why", "t->sys->ioctl(t->fd, TUNGETIFF, &ifr) < 0 ? gone_why(errno)", "0 ? gone_why(errno)"),
(NET, "tx kicks off draining", "\tvq_disable_notify(vq);\n\tfor (;;) {\n\t\tif (!n->tx_held) {", "\tfor (;;) {\n\t\tif (!n->tx_held) {"),
(NET, "tx kicks on when drained", "rc = vq_enable_notify(vq); /* and a last look */", "rc = 0;"),
(NET, "rx kicks off with buffers", "\tvq_disable_notify(vq);\n\tfor (;;) {\n\t\tuint64_t have", "\tfor (;;) {\n\t\tuint64_t have"),
(NET, "rx kicks on when out", "\t\t\trc = vq_enable_notify(vq);\n\t\t\tif (rc == 1) {", "\t\t\trc = 0;\n\t\t\tif (rc == 1) {"),
(NET, "rx one chain without mrg", "if (n->rx_held && !mrg) {", "if (0) {"),
(NET, "rx shift unused chains", "\tmemmove(&n->rx[0], &n->rx[used], (n->rx_held - used) * sizeof(n->rx[0]));\n", ""),
(NET, "rx repoint segs", "\t\tn->rx[i].c.seg = n->rx[i].seg;\n", "\t\t;\n"),
(NET, "rx keep unused chains", "n->rx_held -= used;", "n->rx_held = 0;"),
(NET, "rx stage pauses", "if (n->staged_len) {\n\t\tif (!n->rx_paused)", "if (0) {\n\t\tif (!n->rx_paused)"),
(NET, "rx resume", "\t\tn->rx_paused = false;\n\t\tnetbe_rx_resume(n->be);\n\t}\n}\n\nstatic void vnet_rx_drop_held", "\t\tn->rx_paused = false;\n\t}\n}\n\nstatic void vnet_rx_drop_held"),
(NET, "rx runt", "if (len < VNET_ETH_HLEN) {", "if (0) {"),
(NET, "rx not live drops", "n->st.rx_no_queue++;\n\t\treturn true;", "n->st.rx_no_queue++;\n\t\treturn false;"),
(NET, "link no nested tx", "\tif (!up && n->tx_held)\n\t\tn->host->timer_mod(n->tx_timer, n->host->clock_ns());", "\tif (!up)\n\t\tvnet_tx(n);"),
(NET, "reset drops staged", "\tn->staged_len = 0;\n\tif (n->rx_paused) {", "\tif (n->rx_paused) {"),
(NET, "reset resumes input", "\tn->staged_len = 0;\n\tif (n->rx_paused) {\n\t\tn->rx_paused = false;\n\t\tnetbe_rx_resume(n->be);", "\tn->staged_len = 0;\n\tif (n->rx_paused) {\n\t\tn->rx_paused = false;"),
(NET, "queue_stop drops held", "\tif (q == VNET_RXQ)\n\t\tvnet_rx_drop_held(n);", "\tif (q == VNET_RXQ)\n\t\t;"),
(NET, "link config change", "\tn->link_up = up;\n\tvtrans_config_changed(n->t);", "\tn->link_up = up;"),
(SOCK, "stream prefix", "p[3] = (uint8_t)len;", "p[3] = 0;"),
(SOCK, "stream partial prefix", "s->len_got += (size_t)n;", "s->len_got = (size_t)n;"),
(SOCK, "stream skip oversized", "s->skipping = s->frame_len > NETBE_FRAME_MAX;", "s->skipping = false;\n\t\t\t\tif (s->frame_len > NETBE_FRAME_MAX) {\n\t\t\t\t\tnetsock_down(s, \"x\");\n\t\t\t\t\treturn 0;\n\t\t\t\t}"),
(SOCK, "stream eof", "if (n == 0) {\n\t\t\tnetsock_down(s, \"closed the connection\");", "if (n == 0) {\n\t\t\t(void)0;"),
(SOCK, "dgram refused", "\t\tif (peer_gone(e)) {\n\t\t\tnetsock_down(s, \"went away\");", "\t\tif (0) {\n\t\t\tnetsock_down(s, \"went away\");"),
(SOCK, "stream keep partial", "\t\t\tif (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)\n\t\t\t\treturn false;\n\t\t\tnetsock_down(s, peer_gone(errno) ? \"went away\" : strerror(errno));\n\t\t\treturn false;", "\t\t\tif (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)\n\t\t\t\tbreak;\n\t\t\tnetsock_down(s, peer_gone(errno) ? \"went away\" : strerror(errno));\n\t\t\treturn false;"),
(SOCK, "stream busy while sending", "\tif (s->out_len) {\n\t\t/* The previous frame", "\tif (0) {\n\t\t/* The previous frame"),
(SOCK, "stream flush on writable", "(revents & AVMM_IO_OUT) && netsock_flush(s) && s->tx_waiting)", "(revents & AVMM_IO_OUT) && s->tx_waiting)"),
(SOCK, "rx pause", "\t\t\ts->rx_paused = true;\n", ""),
(SOCK, "dgram trunc", "\tif (msg.msg_flags & MSG_TRUNC)\n\t\tn = (ssize_t)sizeof(s->rx) + 1;\n", ""),
(SOCK, "writable call", "\t\ts->tx_waiting = false;\n\t\ts->be.cb->writable(s->be.opaque);", "\t\ts->tx_waiting = false;"),
(SOCK, "dgram bind", "\tif (!stream) {\n\t\tint e = netsock_bind_local", "\tif (0) {\n\t\tint e = netsock_bind_local"),
(SOCK, "local bind", "\tif (local)\n\t\treturn netsock_bind_path", "\tif (0 && local)\n\t\treturn netsock_bind_path"),
(SOCK, "local only sockets", "if (lstat(p, &st) == 0 && S_ISSOCK(st.st_mode))", "if (lstat(p, &st) == 0)"),
(SOCK, "local unlinked", "\tif (s->bound) {\n\t\tunlink(s->bound);", "\tif (s->bound) {"),
(SOCK, "vfkit magic", "if (!stream && !local && send(", "if (0 && send("),
(SOCK, "no magic with local", "if (!stream && !local && send(", "if (!stream && send("),
(NET, "user keys elsewhere refused", "\t\tif (*v)\n\t\t\treturn n->host->cfg_error(n->dev, keys[i],", "\t\tif (0)\n\t\t\treturn n->host->cfg_error(n->dev, keys[i],"),
(NET, "user keys empty accepted", "\t\tif (*v)\n\t\t\treturn n->host->cfg_error(n->dev, keys[i],", "\t\tif (1)\n\t\t\treturn n->host->cfg_error(n->dev, keys[i],"),
(BE, "watch remembered", "\t\t*cur = want;\n}", "\t\t(void)0;\n}"),
(BE, "watch unwatched first", "\tif (*cur)\n\t\tbe->host->io_unwatch(be->dev, fd);", "\tif (0)\n\t\tbe->host->io_unwatch(be->dev, fd);"),
(SOCK, "local connects", "s->unconnected = local != NULL;", "s->unconnected = false;"),
(SOCK, "local from peer only", "if (s->unconnected && !netsock_from_peer(s, &from, msg.msg_namelen))", "if (s->unconnected && !netsock_from_peer(s, &from, msg.msg_namelen) && 0)"),
(SOCK, "local absent logged once", "\t\t\tif (!s->peer_absent)\n\t\t\t\ts->be.host->log", "\t\t\tif (1)\n\t\t\t\ts->be.host->log"),
(SOCK, "local absent not down", "if (s->unconnected && (e == ENOENT || e == ECONNREFUSED)) {", "if (0) {"),
(SOCK, "local back logged", "\t\t\ts->peer_absent = false;\n\t\t\t\ts->be.host->log", "\t\t\ts->peer_absent = false;\n\t\t\t\tif (0) s->be.host->log"),
(SOCK, "down unwatches", "\tnetsock_set_events(s, 0);\n\ts->up = false;", "\ts->up = false;"),
(SLIRP, "user dhcp start", ".vdhcp_start = host_in(net, 15),", ".vdhcp_start = host_in(net, 16),"),
(SLIRP, "user gateway", ".vhost = host_in(net, 2),", ".vhost = host_in(net, 1),"),
(SLIRP, "user subnet used", "if (rc == 0 && parse_subnet(v, &net, &mask))", "struct in_addr n2, m2;\n\tif (rc == 0 && parse_subnet(v, &n2, &m2))"),
(SLIRP, "user host bits", "if (ntohl(net->s_addr) & ~m)", "if (0)"),
(SLIRP, "user prefix", "n < 8 || n > 27 ||", "n < 7 || n > 28 ||"),
(SLIRP, "user port range", "if (*end || p < 1 || p > 65535)", "if (*end || p < 0 || p > 65536)"),
(SLIRP, "user every hostfwd", "\t\tp += len;\n\t}\n\tnetslirp_sync(s);", "\t\tbreak;\n\t}\n\tnetslirp_sync(s);"),
(SLIRP, "user watches", "if (f->events && host->io_watch(s->be.dev, f->fd, f->events, netslirp_io, s) == 0)", "if (f->events && 0 && host->io_watch(s->be.dev, f->fd, f->events, netslirp_io, s) == 0)"),
(SLIRP, "user close unwatches", "\t\tif (s->fds[i].watched)\n\t\t\ts->be.host->io_unwatch(s->be.dev, s->fds[i].fd);\n\tif (s->slirp)", "\tif (s->slirp)"),
(SLIRP, "user restrict", ".restricted = restrict_,", ".restricted = 0,"),
(SLIRP, "user input", "\tslirp_input(s->slirp, frame, (int)len);\n", "\t(void)frame;\n"),
(SLIRP, "user frames to guest", "\t\ts->be.cb->receive(s->be.opaque, buf, len);", "\t\t(void)buf;"),
(NET, "hdr flags", "if (flags & ~(VNET_HDR_F_NEEDS_CSUM | (allow & VH_DATA_VALID ? VNET_HDR_F_DATA_VALID : 0)))", "if (flags & ~(VNET_HDR_F_NEEDS_CSUM | VNET_HDR_F_DATA_VALID))"),
(NET, "hdr csum negotiated", "\t\tif (!(allow & VH_CSUM))\n\t\t\treturn \"a partial", "\t\tif (0)\n\t\t\treturn \"a partial"),
(NET, "hdr csum bound", "if (csum_start + csum_offset + 2 > len)", "if (csum_start + csum_offset + 1 > len)"),
(NET, "hdr ecn without gso", "\t\tif (h[1] & VNET_HDR_GSO_ECN)\n\t\t\treturn \"ECN without", "\t\tif (0)\n\t\t\treturn \"ECN without"),
(NET, "hdr tso4 negotiated", "!(gso == VNET_HDR_GSO_TCPV4 && (allow & VH_TSO4))", "!(gso == VNET_HDR_GSO_TCPV4)"),
(NET, "hdr tso6 negotiated", "!(gso == VNET_HDR_GSO_TCPV6 && (allow & VH_TSO6))", "!(gso == VNET_HDR_GSO_TCPV6)"),
(NET, "hdr unknown gso", "!(gso == VNET_HDR_GSO_TCPV6 && (allow & VH_TSO6)))", "!(gso == VNET_HDR_GSO_TCPV6 && (allow & VH_TSO6)) && gso != 3)"),
(NET, "hdr ecn negotiated", "if ((h[1] & VNET_HDR_GSO_ECN) && !(allow & VH_ECN))", "if (0)"),
(NET, "hdr gso_size", "if (!gso_size)", "if (gso_size > 0xffff)"),
(NET, "hdr hdr_len bound", "if (hdr_len > len)", "if (hdr_len > len + 1)"),
(NET, "hdr driver hdr_len", "(!hdr_len || !(flags & VNET_HDR_F_NEEDS_CSUM))", "(!(flags & VNET_HDR_F_NEEDS_CSUM))"),
(NET, "hdr driver gso csum", "(!hdr_len || !(flags & VNET_HDR_F_NEEDS_CSUM))", "(!hdr_len)"),
(NET, "tx allow host tso4", "(f & VIRTIO_NET_F_HOST_TSO4 ? VH_TSO4 : 0)", "VH_TSO4"),
(NET, "tx allow csum", "(f & VIRTIO_NET_F_CSUM ? VH_CSUM : 0)", "VH_CSUM"),
(NET, "rx allow guest csum", "(f & VIRTIO_NET_F_GUEST_CSUM ? VH_CSUM | VH_DATA_VALID : 0)", "VH_CSUM | VH_DATA_VALID"),
(NET, "rx allow guest tso4", "(f & VIRTIO_NET_F_GUEST_TSO4 ? VH_TSO4 : 0)", "VH_TSO4"),
(NET, "rx clear data_valid", "\t\t\thdr[0] &= (uint8_t)~VNET_HDR_F_DATA_VALID;", "\t\t\t(void)0;"),
(NET, "rx short header", "\t\tif (len < VNET_HDR_LEN) {\n\t\t\tn->st.rx_bad_hdr++;", "\t\tif (0) {\n\t\t\tn->st.rx_bad_hdr++;"),
(NET, "rx header kept", "\tmemcpy(hdr, vh, VNET_HDR_LEN);\n", "\tmemset(hdr, 0, VNET_HDR_LEN);\n"),
(NET, "tx header passed", "size_t skip = n->be->vnet_hdr ? 0 : VNET_HDR_LEN;", "size_t skip = VNET_HDR_LEN;"),
(NET, "tx num_buffers zeroed", "\t\t\tput_le16(n->tx_buf + 10, 0);\n", ""),
(NET, "offer offloads", "\t\tn->ops.features |= VNET_OFFLOAD_FEATURES;", "\t\t(void)0;"),
(NET, "offer offloads always", "\tif (n->be->vnet_hdr)\n\t\tn->ops.features |= VNET_OFFLOAD_FEATURES;", "\tn->ops.features |= VNET_OFFLOAD_FEATURES;"),
(NET, "dep guest csum", "\t VIRTIO_NET_F_GUEST_CSUM},", "\t 0},"),
(NET, "dep host csum", "\t VIRTIO_NET_F_CSUM},", "\t 0},"),
(NET, "dep guest ecn", "\tif ((f & VIRTIO_NET_F_GUEST_ECN) &&", "\tif (0 &&"),
(NET, "dep host ecn", "\tif ((f & VIRTIO_NET_F_HOST_ECN) && !", "\tif (0 && !"),
(NET, "offloads at driver_ok", "\t\tnetbe_set_offloads(n->be, vnet_offloads(vtrans_features(n->t)));", "\t\t(void)vnet_offloads;"),
(NET, "offloads off at reset", "\t\tnetbe_set_offloads(n->be, 0);\n\t/* A staged", "\t\t(void)0;\n\t/* A staged"),
(NET, "offload tso6 map", "(f & VIRTIO_NET_F_GUEST_TSO6 ? NETBE_OFFLOAD_TSO6 : 0)", "(f & VIRTIO_NET_F_GUEST_TSO4 ? NETBE_OFFLOAD_TSO6 : 0)"),
(TAP, "tap ecn map", "\t\tf |= TUN_F_TSO_ECN;", "\t\t(void)0;"),
(TAP, "tap csum map", "\t\tf |= TUN_F_CSUM;", "\t\t(void)0;"),
(TAP, "tap iff flags", "ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;", "ifr.ifr_flags = IFF_TAP | IFF_NO_PI;"),
(TAP, "tap hdr size", "int hdr = NETBE_VNET_HDR_LEN;", "int hdr = 10;"),
(TAP, "tap offloads off at open", "if (sys->ioctl(t->fd, TUNSETOFFLOAD, (void *)(uintptr_t)0) < 0) {", "if (0) {"),
(TAP, "tap never creates", "\tif (!sys->if_index(name))\n", "\tif (0)\n"),
(TAP, "tap transient", "!(ifr.ifr_flags & IFF_PERSIST)) {", "0) {"),
(TAP, "tap ifname", "if (!len || len >= IFNAMSIZ ||", "if (!len || len > IFNAMSIZ ||"),
(TAP, "tap read error down", "\t\t\tnettap_down(t, gone_why(e));\n\t\t\tbreak;", "\t\t\tbreak;"),
(TAP, "tap write gone", "\tif (tap_gone(e)) {\n\t\tnettap_down(t, gone_why(e));", "\tif (tap_gone(e) && 0) {\n\t\tnettap_down(t, gone_why(e));"),
(TAP, "tap eio once", "\t\tif (!t->if_down)\n\t\t\tt->be.host->log", "\t\tif (1)\n\t\t\tt->be.host->log"),
(TAP, "tap eio keeps link", "\tif (e == EIO) {", "\tif (0) {"),
(TAP, "tap oversized", "size_t len = (size_t)n < sizeof(t->rx) ? (size_t)n : sizeof(t->rx);", "size_t len = (size_t)n < sizeof(t->rx) ? (size_t)n : sizeof(t->rx) - 1;"),
]
only = sys.argv[1:]
for f, name, old, new in M:
    if only and name not in only:
        continue
    src = orig[f]
    if src.count(old) != 1:
        print(f"{name}: PATTERN count {src.count(old)}")
        continue
    open(f, 'w').write(src.replace(old, new))
    b = subprocess.run("nice cmake --build build -j2 --target test_net test_net_tap", shell=True,
                       capture_output=True, text=True)
    open(f, 'w').write(src)
    if b.returncode:
        print(f"{name}: BUILD FAIL")
        print(b.stdout[-800:])
        continue
    r = subprocess.run("timeout 120 ./build/tests/unit/virtio-mmio/test_net && "
                       "timeout 120 ./build/tests/unit/virtio-mmio/test_net_tap", shell=True,
                       capture_output=True, text=True)
    fails = sorted(set(re.findall(r':[FES]:\w+:(\w+):', r.stdout + r.stderr)))
    crashed = r.returncode != 0 and not fails
    print(f"{name}: {'CAUGHT' if fails or crashed else 'SURVIVED'} {' '.join(fails)}"
          f"{' (exit %d)' % r.returncode if crashed else ''}", flush=True)
for f, src in orig.items():
    open(f, 'w').write(src)
subprocess.run("cmake --build build -j2 --target test_net test_net_tap >/dev/null 2>&1",
               shell=True)
