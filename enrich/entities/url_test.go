package entities

import "testing"

func TestCanonicalURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://Example.COM", "https://example.com/", true},
		{"HTTPS://example.com:443/a?b=1#frag", "https://example.com/a?b=1", true},
		{"http://example.com:8080/a", "http://example.com:8080/a", true},
		{"http://example.com:443/a", "http://example.com:443/a", true},
		{"https://user:pw@example.com/a", "https://example.com/a", true},
		{"https://example.com./a", "https://example.com/a", true},
		{"www.example.com", "https://www.example.com/", true},
		{"https://example.com/a?utm_source=x&utm_CAMPAIGN=y&fbclid=1&gclid=2&igshid=3&mc_cid=4&mc_eid=5&ref_src=6&_ga=7", "https://example.com/a", true},
		{"https://example.com/a?z=1&a=2&a=1&m", "https://example.com/a?a=2&a=1&m&z=1", true},
		{"https://example.com/a?ref=newsletter&id=3", "https://example.com/a?id=3", true},
		{"https://github.com/acme/sdk/blob/x?ref=main", "https://github.com/acme/sdk/blob/x?ref=main", true},
		{"https://x.com/acme/status/1?s=20&t=abc", "https://x.com/acme/status/1", true},
		{"https://mobile.twitter.com/acme/status/1?s=21", "https://mobile.twitter.com/acme/status/1", true},
		{"https://youtu.be/abc?si=xyz&t=194", "https://youtu.be/abc?t=194", true},
		{"https://www.youtube.com/watch?v=abc&feature=share&si=q", "https://www.youtube.com/watch?v=abc", true},
		{"https://open.spotify.com/track/1?si=abc", "https://open.spotify.com/track/1", true},
		{"https://example.com/a?s=20&si=1&t=5", "https://example.com/a?s=20&si=1&t=5", true},
		{"https://example.com/a?", "https://example.com/a", true},
		{"https://xn--bcher-kva.de/x", "https://bücher.de/x", true},
		{"https://BÜCHER.de/x", "https://bücher.de/x", true},
		{"https://[2001:db8::1]:443/x", "https://[2001:db8::1]/x", true},
		{"https://localhost/x", "", false},
		{"https://exa mple.com/", "", false},
		{"https://example.com:80a/", "", false},
		{"ftp://example.com/", "", false},
		{"https://..com/", "", false},
	}
	for _, tt := range tests {
		got, ok := CanonicalURL(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalURL(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"www.acme.com", "acme.com"},
		{"news.bbc.co.uk", "bbc.co.uk"},
		{"alice.github.io", "alice.github.io"},
		{"github.io", "github.io"},
		{"192.168.1.1", "192.168.1.1"},
		{"[2001:db8::1]", "[2001:db8::1]"},
		{"www.bücher.de", "bücher.de"},
		{"shop.bücher.de", "bücher.de"},
	}
	for _, tt := range tests {
		if got := Domain(tt.in); got != tt.want {
			t.Errorf("Domain(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
