package webhook

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		refused bool
	}{
		// Public addresses, including both sides of every IPv4 boundary.
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"93.184.216.34", false},
		{"9.255.255.255", false}, {"11.0.0.0", false},
		{"100.63.255.255", false}, {"100.128.0.0", false},
		{"126.255.255.255", false}, {"128.0.0.0", false},
		{"169.253.255.255", false}, {"169.255.0.0", false},
		{"172.15.255.255", false}, {"172.32.0.0", false},
		{"192.167.255.255", false}, {"192.169.0.0", false},
		{"198.17.255.255", false}, {"198.20.0.0", false},
		{"223.255.255.255", false},
		{"2606:4700:4700::1111", false}, {"2001:4860:4860::8888", false},
		{"2a00:1450:4001::1", false},
		{"::ffff:8.8.8.8", false},   // IPv4-mapped public
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", false},  // 6to4 of 8.8.8.8
		{"3ffe:ffff::1", false},     // just below 3fff::/20

		// Refused IPv4.
		{"0.0.0.0", true}, {"0.255.255.255", true},
		{"10.0.0.0", true}, {"10.255.255.255", true},
		{"100.64.0.0", true}, {"100.127.255.255", true}, {"100.100.100.200", true},
		{"127.0.0.1", true}, {"127.255.255.254", true},
		{"169.254.0.0", true}, {"169.254.169.254", true}, {"169.254.255.255", true},
		{"172.16.0.0", true}, {"172.31.255.255", true},
		{"192.0.0.1", true}, {"192.0.2.1", true}, {"192.88.99.1", true},
		{"192.168.0.0", true}, {"192.168.255.255", true},
		{"198.18.0.0", true}, {"198.19.255.255", true},
		{"198.51.100.7", true}, {"203.0.113.9", true},
		{"224.0.0.1", true}, {"239.255.255.250", true},
		{"240.0.0.1", true}, {"255.255.255.255", true},

		// Refused IPv6.
		{"::", true}, {"::1", true},
		{"fe80::1", true}, {"fe80::1%eth0", true}, {"febf:ffff::1", true},
		{"fec0::1", true}, {"fc00::1", true}, {"fdff:ffff::1", true},
		{"ff02::1", true}, {"ff05::1:3", true},
		{"2001:db8::1", true}, {"3fff::1", true}, {"2001::1", true}, {"100::1", true},
		{"64:ff9b:1::1", true},
		{"4000::1", true}, {"1000::1", true}, // outside 2000::/3

		// IPv4 inside IPv6, in every form the kernel or a gateway unwraps.
		{"::ffff:127.0.0.1", true}, {"::ffff:10.1.2.3", true},
		{"::ffff:169.254.169.254", true}, {"::ffff:0.0.0.0", true},
		{"::127.0.0.1", true}, {"::8.8.8.8", true}, // IPv4-compatible, deprecated
		{"::ffff:0:7f00:1", true}, // IPv4-translated
		{"64:ff9b::7f00:1", true}, {"64:ff9b::a9fe:a9fe", true}, {"64:ff9b::a00:1", true},
		{"2002:7f00:1::1", true}, {"2002:a9fe:a9fe::1", true}, {"2002:c0a8:101::1", true},
	} {
		addr := netip.MustParseAddr(tc.addr)
		reason := classify(addr)
		if (reason != "") != tc.refused {
			t.Errorf("classify(%s) = %q, want refused=%v", tc.addr, reason, tc.refused)
		}
		if err := (Policy{}).CheckAddr(addr); (err != nil) != tc.refused {
			t.Errorf("CheckAddr(%s) = %v, want refused=%v", tc.addr, err, tc.refused)
		}
	}
	if classify(netip.Addr{}) == "" {
		t.Error("the zero Addr is classified public")
	}
}

func TestPolicyAllowList(t *testing.T) {
	p, err := NewPolicy(" 127.0.0.1/32 ", "10.1.0.0/16", "fd00::5", "Hooks.Corp.Example.", "*.svc.internal")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr    string
		allowed bool
	}{
		{"127.0.0.1", true}, {"::ffff:127.0.0.1", true}, {"127.0.0.2", false},
		{"10.1.255.255", true}, {"10.2.0.0", false},
		{"fd00::5", true}, {"fd00::6", false},
		{"169.254.169.254", false}, {"::1", false},
		{"8.8.8.8", true}, // public stays allowed
	} {
		if err := p.CheckAddr(netip.MustParseAddr(tc.addr)); (err == nil) != tc.allowed {
			t.Errorf("CheckAddr(%s) = %v, want allowed=%v", tc.addr, err, tc.allowed)
		}
	}
	for host, want := range map[string]bool{
		"hooks.corp.example": true, "HOOKS.corp.example.": true, "x.hooks.corp.example": false,
		"a.svc.internal": true, "a.b.svc.internal": true, "svc.internal": false, "evilsvc.internal": false,
		"": false,
	} {
		if got := p.hostAllowed(host); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}

	// A mapped-form prefix covers the plain IPv4 address too.
	mapped := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.0/104")}}
	if err := mapped.CheckAddr(netip.MustParseAddr("127.0.0.9")); err != nil {
		t.Errorf("mapped prefix: %v", err)
	}

	for _, bad := range []string{"", "fe80::1%eth0", "not a host", "a..b", "127.1", "http://x"} {
		if _, err := NewPolicy(bad); err == nil {
			t.Errorf("NewPolicy(%q) = nil error", bad)
		}
	}
}
