package web_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/web"
)

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string // prefixes; nil with wantErr
		err  string
	}{
		{"unset", "", nil, ""},
		{"one address", "10.0.0.7", []string{"10.0.0.7/32"}, ""},
		{"ranges and spaces", " 10.0.0.0/8 , 192.168.1.7,, fd00::/8 ", []string{"10.0.0.0/8", "192.168.1.7/32", "fd00::/8"}, ""},
		{"range is masked", "10.1.2.3/16", []string{"10.1.0.0/16"}, ""},
		{"ipv6 address", "2001:db8::1", []string{"2001:db8::1/128"}, ""},
		{"mapped ipv4 is ipv4", "::ffff:10.0.0.7", []string{"10.0.0.7/32"}, ""},
		{"host name", "lb.internal", nil, `"lb.internal" is not an IP address`},
		{"bad range", "10.0.0.0/33", nil, `"10.0.0.0/33" is not a CIDR range`},
		{"address with port", "10.0.0.7:443", nil, `"10.0.0.7:443" is not an IP address`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := web.ParseTrustedProxies(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			require.Equal(t, tc.want, s)
		})
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted, err := web.ParseTrustedProxies("10.0.0.0/8, 192.168.1.7")
	require.NoError(t, err)
	tests := []struct {
		name    string
		peer    string
		xff     []string
		trusted bool // use the trusted list above (else none)
		want    string
	}{
		{"no proxies: the peer", "203.0.113.9", nil, false, "203.0.113.9"},
		{"no proxies configured: header ignored", "203.0.113.9", []string{"198.51.100.1"}, false, "203.0.113.9"},
		{"untrusted peer: header ignored", "203.0.113.9", []string{"198.51.100.1"}, true, "203.0.113.9"},
		{"trusted peer, one hop", "10.0.0.2", []string{"198.51.100.1"}, true, "198.51.100.1"},
		{"spoofed left entries are skipped", "10.0.0.2", []string{"1.2.3.4, 6.6.6.6, 198.51.100.1"}, true, "198.51.100.1"},
		{"trusted hops skipped right to left", "10.0.0.2", []string{"6.6.6.6, 198.51.100.1, 192.168.1.7, 10.9.9.9"}, true, "198.51.100.1"},
		{"several headers are one list", "10.0.0.2", []string{"6.6.6.6, 198.51.100.1", "10.1.1.1"}, true, "198.51.100.1"},
		{"port and ipv6 brackets", "10.0.0.2", []string{"[2001:db8::5]:443"}, true, "2001:db8::5"},
		{"address with port", "10.0.0.2", []string{"198.51.100.1:5123"}, true, "198.51.100.1"},
		{"mapped ipv4", "::ffff:10.0.0.2", []string{"::ffff:198.51.100.1"}, true, "198.51.100.1"},
		{"trusted peer without header", "10.0.0.2", nil, true, "10.0.0.2"},
		{"only trusted hops: the leftmost", "10.0.0.2", []string{"10.3.3.3, 10.4.4.4"}, true, "10.3.3.3"},
		{"garbage from a trusted hop stops the walk", "10.0.0.2", []string{"6.6.6.6, unknown, 10.4.4.4"}, true, "10.4.4.4"},
		{"garbage left of the client is ignored", "10.0.0.2", []string{"nonsense, 198.51.100.1"}, true, "198.51.100.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr []netip.Prefix
			if tc.trusted {
				tr = trusted
			}
			got := web.ClientAddr(netip.MustParseAddr(tc.peer), tc.xff, tr)
			require.Equal(t, tc.want, got.String())
		})
	}
}
