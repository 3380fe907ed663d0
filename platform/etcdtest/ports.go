package etcdtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// FreePorts returns n distinct loopback TCP ports that were free a moment ago.
//
// A port is picked at random below the kernel's ephemeral range (net.ipv4.ip_local_port_range), not by
// binding :0: a port from :0 lies in the ephemeral range, which the kernel also hands out as the source
// port of every outgoing connection, so between the pick and the member's bind (or while a killed member is
// down, waiting for Restart) a parallel test's connection could take it. Below that range only another
// listener can, and the pick is random over more than 20,000 ports.
func FreePorts(n int) ([]int, error) {
	lo, hi := pickRange()
	if hi-lo < 4*n {
		return ephemeralPorts(n)
	}
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("etcdtest: no %d free loopback ports in %d-%d", n, lo, hi)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lo+rand.IntN(hi-lo)))
		if err != nil {
			continue // taken; the held listeners also keep a port from being picked twice
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// pickRange is [10000, start of the ephemeral range), or [10000, 32768) where the range cannot be read
// (below Linux's default 32768-60999 and macOS's 49152-65535).
func pickRange() (lo, hi int) {
	lo, hi = 10000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	if f := strings.Fields(string(b)); len(f) == 2 {
		if start, err := strconv.Atoi(f[0]); err == nil {
			hi = start
		}
	}
	return lo, hi
}

// ephemeralPorts binds :0 n times: the fallback where the ephemeral range leaves nothing below it.
func ephemeralPorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePortRun returns a base port such that base+offset was free a moment ago for every offset (a script that
// derives its ports from one base, as scripts/run-ha.sh does), picked like FreePorts.
func FreePortRun(offsets []int) (int, error) {
	lo, hi := pickRange()
	span := 0
	for _, off := range offsets {
		span = max(span, off)
	}
	if hi-lo <= span+len(offsets) {
		lo, hi = 10000, 65535
	}
	for range 100 {
		base := lo + rand.IntN(hi-lo-span)
		var ls []net.Listener
		free := true
		for _, off := range offsets {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				free = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			_ = l.Close()
		}
		if free {
			return base, nil
		}
	}
	return 0, fmt.Errorf("etcdtest: no base port with offsets %v free", offsets)
}
