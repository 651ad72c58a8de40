#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside L1 (as /avmm/tests/net.sh SCENARIO): the virtio-net scenarios
# of configs/linux-net.ini; run_integration.py checks the output.  L1 has no
# network device, so every peer is in L1: its loopback through user
# networking (slirp's 10.0.2.2), or a tap device L1 makes.  Each scenario boots L2 from its own copy of the
# root disk in batch mode (l1-lib.sh); the guest prints what it saw, and
# L1's side comes between @@HOST-BEGIN and @@HOST-END.
. /avmm/tests/lib.sh
CFG=/avmm/configs/linux-net.ini
WWW=/tmp/www

# Every wget runs under timeout: Debian's static busybox 1.35 wget crashed
# (SIGSEGV) with its own -T here.
# L1's web server: the root disk's known file (1 MiB) at /known.
www_start() { # ADDR:PORT
	mkdir -p $WWW
	[ -s $WWW/known ] ||
		debugfs -R 'cat /etc/avmm-known' /avmm/build/guest/rootfs.img >$WWW/known 2>/dev/null
	httpd -f -v -p "$1" -h $WWW >"/tmp/httpd-$1.log" 2>&1 &
	echo $! >"/tmp/httpd-$1.pid"
}

www_stop() { # ADDR:PORT: stop it, and print the requests it logged
	kill "$(cat "/tmp/httpd-$1.pid")" 2>/dev/null
	wait "$(cat "/tmp/httpd-$1.pid")" 2>/dev/null
	sed "s/^/httpd: /" "/tmp/httpd-$1.log"
	rm -f "/tmp/httpd-$1.pid" "/tmp/httpd-$1.log"
}

# The guest: what it fetched, then its own web server; it waits until L1
# connects to its port 7 (through hostfwd), so that L1 has
# fetched from it first.  $1: the URL of L1's known file.
# It counts the frames its 1 MiB fetch took (offloads make them few).
guest_serve() {
	cat <<EOF
echo "features=\$(cat /sys/class/net/eth0/device/features)"
r() { cat /sys/class/net/eth0/statistics/rx_packets; }
a=\$(r); timeout 30 wget -q -O /run/k $1; echo "wget-rc=\$?"
echo "guest-rx-frames=\$((\$(r)-a))"
sha256sum /run/k
mkdir /run/www; echo "guest-served-\$((6*7))" >/run/www/hello
dd if=/etc/avmm-known of=/run/www/big bs=64k 2>/dev/null
httpd -p 80 -h /run/www && echo "SERVING-\$((1+1))"
nc -l -p 7 >/dev/null; echo "STOP-\$((1+1))-SEEN"
EOF
}

# L1 fetches from the guest (hello, and the 1 MiB file), then lets it finish.
host_fetch() { # LOG HOST HTTP-PORT STOP-PORT
	if wait_for "$1" "SERVING-2" 240; then
		echo "host-got=$(timeout 30 wget -q -O - "http://$2:$3/hello")"
		echo "host-big=$(timeout 60 wget -q -O - "http://$2:$3/big" | sha256sum)"
		echo stop | nc -w 5 "$2" "$4"
	else
		echo "the guest never served (no SERVING-2 within 240 s)"
	fi
}

finish() { # PID LOG IMG: wait for the guest to power off (or kill it), print its log
	wait_for "$2" "AVMM-L2-STATUS" 120 || { echo "no AVMM-L2-STATUS: killing avmm"; kill "$1"; }
	wait "$1"
	echo "avmm-rc=$?"
	echo "@@HOST-END"
	cat "$2"
	rm -f "$2" "$3"
}

# User networking: DHCP, DNS forwarding, a fetch from L1's loopback through
# the gateway, and L1 reaching the guest's server through hostfwd.  With
# restrict = on the fetch must fail and the forwarded ports still work.
net_user() { # SCENARIO RESTRICT
	img=$(disk_copy "$1") || return 1
	log=/tmp/$1.log
	www_start 127.0.0.1:8080
	# slirp forwards the guest's DNS queries to L1's resolver: a listener
	# that records them (it answers nothing).
	echo "nameserver 127.0.0.1" >/etc/resolv.conf
	socat -u UDP-RECV:53,bind=127.0.0.1 OPEN:/tmp/dns.q,creat,append &
	dns=$!
	g='udhcpc -i eth0 -n -q -t 5 -T 3 >/dev/null 2>&1; echo "dhcp-rc=$?"
ip addr show dev eth0 | grep "inet "
ip route | grep default
grep nameserver /etc/resolv.conf
timeout 10 nslookup avmm-dns-probe.test >/dev/null 2>&1
'"$(guest_serve http://10.0.2.2:8080/known)"
	$AVMM -v -c $CFG -s "vda.path=$img" -s "net0.restrict=$2" \
		-s "net0.hostfwd=tcp:127.0.0.1:2280-:80 tcp::2207-:7" \
		-s "$(boot_args rw "$g")" >"$log" 2>&1 &
	pid=$!
	echo "@@HOST-BEGIN"
	host_fetch "$log" 127.0.0.1 2280 2207
	www_stop 127.0.0.1:8080
	kill $dns 2>/dev/null
	echo "dns-queries-seen=$(grep -c avmm-dns-probe /tmp/dns.q)"
	rm -f /tmp/dns.q /etc/resolv.conf
	finish $pid "$log" "$img"
}

# RX freeze: the guest takes eth0 down, which stops its driver refilling
# the receive queue (the buffers stay posted: the device is not reset),
# while L1 floods it with more frames than the queue holds; then eth0 comes
# up again, and traffic must flow.  The guest cannot tell L1 when the flood
# is over (its link is down): it waits 40 s, several times what the flood
# takes.
net_rxfreeze() {
	img=$(disk_copy net-rxfreeze) || return 1
	log=/tmp/net-rxfreeze.log
	www_start 127.0.0.1:8080
	g='udhcpc -i eth0 -n -q -t 5 -T 3 >/dev/null 2>&1; echo "dhcp-rc=$?"
r() { cat /sys/class/net/eth0/statistics/rx_packets; }
timeout 30 wget -q -O /run/k http://10.0.2.2:8080/known; echo "wget1-rc=$?"
ip link set eth0 down; a=$(r); echo "RX-STOPPED-$((1+1))"
sleep 40
ip link set eth0 up; sleep 2; b=$(r); echo "rx-while-down=$((b-a))"
timeout 30 wget -q -O /run/k2 http://10.0.2.2:8080/known; echo "wget2-rc=$?"
sha256sum /run/k2'
	$AVMM -v -c $CFG -s "vda.path=$img" -s "net0.hostfwd=udp::2209-:9" \
		-s "$(boot_args rw "$g")" >"$log" 2>&1 &
	pid=$!
	echo "@@HOST-BEGIN"
	if wait_for "$log" "RX-STOPPED-2" 240; then
		# 4 MiB of UDP in 1 KiB datagrams through hostfwd: thousands of
		# frames, far more than the 256 buffers of the receive queue
		dd if=/dev/zero bs=1024 count=4096 2>/dev/null |
			socat -u -b 1024 STDIN UDP-SENDTO:127.0.0.1:2209
		echo "flooded"
	else
		echo "the guest never stopped (no RX-STOPPED-2 within 240 s)"
	fi
	wait_for "$log" "AVMM-L2-STATUS" 180
	www_stop 127.0.0.1:8080
	finish $pid "$log" "$img"
}

# Tap: L1 makes avtap0 with an address, the guest takes a static one on
# the same subnet, and each fetches the 1 MiB file from the other's web
# server.  The offloads must be on and in use: 1 MiB at MTU 1500 is ~725
# frames, with TSO a few dozen (both ways counted).  Then, with the guest
# pinging L1 five times a second, L1 takes the tap down (avmm drops what the
# guest sends, one log line) and deletes it: the guest's link goes down (one
# log line) and it powers off normally.  Down first, because a deletion takes
# the interface down before it detaches it: a frame in between gets EIO, so
# deleting alone logs "is down" or not, by chance.  The machine is linux-net.ini with net = tap: and without
# user networking's hostfwd, as the README shows.
net_tap() {
	img=$(disk_copy net-tap) || return 1
	log=/tmp/net-tap.log
	tunctl -t avtap0 >/dev/null || return 1 # busybox: no `ip tuntap`
	echo 1 >/proc/sys/net/ipv6/conf/avtap0/disable_ipv6
	ip addr add 192.168.77.1/24 dev avtap0
	ip link set avtap0 up
	www_start 192.168.77.1:8080
	g='ip addr add 192.168.77.2/24 dev eth0; ip link set eth0 up
'"$(guest_serve http://192.168.77.1:8080/known)"'
c() { cat /sys/class/net/eth0/carrier; }
ping -i 0.2 192.168.77.1 >/dev/null 2>&1 &
n=0; while [ "$(c)" != 0 ] && [ $n -lt 60 ]; do sleep 0.5; n=$((n+1)); done
echo "carrier-after-delete=$(c)"'
	$AVMM -v -c $CFG -s net0.net=tap:avtap0 -s net0.hostfwd= -s "vda.path=$img" \
		-s "$(boot_args rw "$g")" >"$log" 2>&1 &
	pid=$!
	echo "@@HOST-BEGIN"
	t() { cat /sys/class/net/avtap0/statistics/rx_packets; }
	wait_for "$log" "SERVING-2" 240
	a=$(t)
	host_fetch "$log" 192.168.77.2 80 7
	echo "tap-rx-frames=$(($(t) - a))"
	www_stop 192.168.77.1:8080
	ip link set avtap0 down && echo "tap-set-down"
	sleep 1.5
	ip link del avtap0 && echo "tap-deleted"
	finish $pid "$log" "$img"
}

# Two guests, each with a card on either socket framing, fetch each other's
# 1 MiB file over both (net-pair: two avmm guests; net-qemu: an avmm guest
# and a QEMU guest).  Guest N is 192.168.78.N on its unixgram card and
# 192.168.79.N on its unixstream card; cards are told apart by MAC.  Both
# serve the file and fetch the other's over both links; once both are done
# the stream link goes away (guest 2 powers off: its avmm or QEMU closes the
# connection) and guest 1, which waits for it, must see its stream link go
# down.  The guest script is written into each disk with debugfs: it is
# longer than a kernel command line holds.
pair_script() { # ID PEER WAIT: WAIT=1 waits for the stream link to go down
	cat <<EOF
ifc() { for i in /sys/class/net/eth*; do [ "\$(cat \$i/address)" = "\$1" ] && echo \${i##*/}; done; }
d=\$(ifc 52:54:00:12:78:0$1); s=\$(ifc 52:54:00:12:79:0$1); echo "links=\$d,\$s"
ip addr add 192.168.78.$1/24 dev \$d; ip link set \$d up
ip addr add 192.168.79.$1/24 dev \$s; ip link set \$s up
mkdir /run/www; dd if=/etc/avmm-known of=/run/www/big bs=64k 2>/dev/null
httpd -p 80 -h /run/www
get() { # ADDR NAME: until the peer serves (it boots when it boots)
	n=0; until timeout 20 wget -q -O /run/\$2 http://\$1/big; do
		n=\$((n+1)); [ \$n -lt 40 ] || break; sleep 2; done
	echo "\$2-tries=\$n"; sha256sum /run/\$2
}
get 192.168.78.$2 dgram; get 192.168.79.$2 stream
echo "dgram-rx-bytes=\$(cat /sys/class/net/\$d/statistics/rx_bytes)"
echo "stream-rx-bytes=\$(cat /sys/class/net/\$s/statistics/rx_bytes)"
# Neither leaves before both are done: fetch the peer's "done", then give
# the peer time to fetch ours.
touch /run/www/done; n=0
until timeout 10 wget -q -O /dev/null http://192.168.78.$2/done; do
	n=\$((n+1)); [ \$n -lt 60 ] || break; sleep 1; done
echo "peer-done-tries=\$n"; sleep 5
ip link set \$d down; echo "PAIR-DONE-\$((1+1))"
[ $3 = 1 ] || exit 0
n=0; while [ "\$(cat /sys/class/net/\$s/carrier)" != 0 ] && [ \$n -lt 120 ]; do
	sleep 0.5; n=\$((n+1)); done
echo "stream-carrier=\$(cat /sys/class/net/\$s/carrier)"
EOF
}

pair_disk() { # ID PEER WAIT: prints the image, the guest's script on it
	img=$(disk_copy "net-pair-$1") || return 1
	pair_script "$@" >/tmp/pair.sh
	debugfs -w -R "write /tmp/pair.sh /pair.sh" "$img" >/dev/null 2>&1
	rm -f /tmp/pair.sh
	echo "$img"
}

pair_avmm() { # ID PEER STREAM-PATH IMG [listen]: avmm guest ID in the background, log /tmp/net-pair-ID.log
	cfg=/avmm/configs/net-pair-$1.ini
	{
		cat $CFG
		printf '\n[device s%s]\nplugin = virtio-mmio\ntype = net\n' "$1"
		printf 'base = 0x0a000800\nirq = 20\nnet = unixstream:%s\n' "$3"
		[ "${5-}" != listen ] || printf 'listen = on\n'
		printf 'mac = 52:54:00:12:79:0%s\n' "$1"
	} >$cfg
	$AVMM -v -c $cfg -s machine.memory=256M -s "vda.path=$4" \
		-s "net0.net=unixgram:/tmp/pair-$2.dg" -s "net0.local=/tmp/pair-$1.dg" \
		-s "net0.mac=52:54:00:12:78:0$1" -s net0.hostfwd= \
		-s "$(boot_args rw 'sh /pair.sh')" >"/tmp/net-pair-$1.log" 2>&1 &
}

pair_end() { # NAME-1 PID-1 NAME-2 PID-2: wait for both, print the logs
	for i in 1 2; do
		eval "vmm=\$$((2 * i - 1)) pid=\$$((2 * i))"
		wait_for /tmp/net-pair-$i.log AVMM-L2-STATUS 120 ||
			{ echo "no AVMM-L2-STATUS from guest $i: killing $vmm"; kill "$pid"; }
		wait "$pid"
		echo "$vmm-rc-$i=$?"
	done
	echo "@@HOST-END"
	for i in 1 2; do
		echo "@@GUEST-$i"
		cat /tmp/net-pair-$i.log
		rm -f /tmp/net-pair-$i.log /tmp/net-pair-$i.img /avmm/configs/net-pair-$i.ini
	done
	echo "@@GUESTS-END"
	rm -f /tmp/pair-1.dg /tmp/pair-2.dg /tmp/pair-s1 /tmp/pair-s2
}

# Two avmm guests with nothing in between: unixgram (each bound at its own
# `local`, sending to the other's) and unixstream (guest 1's avmm listens at
# pair-s1 with `listen = on`, guest 2's connects).  Guest 2 powers off when
# done; guest 1's stream link must go down then.
net_pair() {
	rm -f /tmp/pair-1.dg /tmp/pair-2.dg /tmp/pair-s1 /tmp/pair-s2
	echo "@@HOST-BEGIN"
	img1=$(pair_disk 1 2 1) && img2=$(pair_disk 2 1 0) || return 1
	pair_avmm 1 2 /tmp/pair-s1 "$img1" listen
	pid1=$!
	wait_sock /tmp/pair-s1
	pair_avmm 2 1 /tmp/pair-s1 "$img2"
	pid2=$!
	wait_for /tmp/net-pair-1.log PAIR-DONE-2 300 ||
		echo "the guests never both finished (PAIR-DONE-2)"
	pair_end avmm $pid1 avmm $pid2
}

# avmm's guest 1 and QEMU's guest 2, with QEMU's own socket netdevs:
# -netdev dgram (bound at pair-2.dg, sending to avmm's local pair-1.dg) and
# -netdev stream,server=on, which avmm connects to.  QEMU's guest powers off
# when done, which ends the stream: avmm's guest must see its link go down.
net_qemu() {
	rm -f /tmp/pair-1.dg /tmp/pair-2.dg /tmp/pair-s1 /tmp/pair-s2
	echo "@@HOST-BEGIN"
	img1=$(pair_disk 1 2 1) && img2=$(pair_disk 2 1 0) || return 1
	cmdline=$(boot_args rw 'sh /pair.sh')
	qemu-system-aarch64 -M virt,gic-version=2,kernel_irqchip=off -accel kvm -cpu host \
		-smp 1 -m 256 -nodefaults -no-user-config -display none -serial stdio \
		-kernel /avmm/build/guest/Image -initrd /avmm/build/guest/initramfs-modules.cpio.gz \
		-append "${cmdline#boot.cmdline=}" \
		-drive "file=$img2,if=none,format=raw,id=d0" -device virtio-blk-device,drive=d0 \
		-netdev dgram,id=n0,local.type=unix,local.path=/tmp/pair-2.dg,remote.type=unix,remote.path=/tmp/pair-1.dg \
		-device virtio-net-device,netdev=n0,mac=52:54:00:12:78:02 \
		-netdev stream,id=n1,server=on,addr.type=unix,addr.path=/tmp/pair-s2 \
		-device virtio-net-device,netdev=n1,mac=52:54:00:12:79:02 \
		</dev/null >/tmp/net-pair-2.log 2>&1 &
	pid2=$!
	wait_sock /tmp/pair-s2
	pair_avmm 1 2 /tmp/pair-s2 "$img1"
	pid1=$!
	wait_for /tmp/net-pair-1.log PAIR-DONE-2 300 ||
		echo "the avmm guest never finished (PAIR-DONE-2)"
	pair_end avmm $pid1 qemu $pid2
}

wait_sock() { # PATH: until a socket is there (10 s at most)
	n=0
	while [ ! -S "$1" ] && [ $n -lt 20 ]; do
		sleep 0.5
		n=$((n + 1))
	done
}

case $1 in
net-user) net_user net-user off ;;
net-restrict) net_user net-restrict on ;;
net-rxfreeze) net_rxfreeze ;;
net-tap) net_tap ;;
net-pair) net_pair ;;
net-qemu) net_qemu ;;
*) echo "net.sh: unknown scenario '$1'"; exit 1 ;;
esac
