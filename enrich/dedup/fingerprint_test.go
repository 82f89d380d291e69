package dedup

import (
	"math/bits"
	"testing"
)

func TestFingerprintNormalises(t *testing.T) {
	// Each pair must normalise to the same words, so the same SimHash.
	pairs := []struct{ a, b string }{
		{"Acme just announced the new Rocket 3 lineup",
			"RT @techbyte: Acme just announced the new Rocket 3 lineup"},
		{"Acme just announced the new Rocket 3 lineup",
			"Acme  just announced\nthe NEW Rocket 3 lineup!!! 🚀🚀 https://acme.com/r3?utm_source=x"},
		{"Acme just announced the new Rocket 3 lineup",
			"#breaking #tech Acme just announced the new Rocket 3 lineup #AcmeRocket #launch"},
		{"Loving the new AcmePhone camera so far",
			"Loving the new #AcmePhone camera so far"},
		{"Acme recalls 40,000 Rocket 2 chargers over overheating risk",
			"Acme recalls 40,000 Rocket 2 chargers over overheating risk - Reuters"},
		{"Acme recalls 40,000 Rocket 2 chargers over overheating risk",
			"Acme recalls 40,000 Rocket 2 chargers over overheating risk | The Daily Tech News"},
		{"Acme recalls 40,000 Rocket 2 chargers over overheating risk",
			"Acme recalls 40,000 Rocket 2 chargers over overheating risk — BBC News"},
		{"Acme recalls 40,000 Rocket 2 chargers over overheating risk",
			"BREAKING: Acme recalls 40,000 Rocket 2 chargers over overheating risk via @Reuters"},
		{"Globex abre nueva región en São Paulo para clientes",
			"GLOBEX ABRE NUEVA REGION EN SAO PAULO PARA CLIENTES"},
		{"Straße der Ærø Øresund Łódź großartig",
			"strasse der aero oresund lodz grossartig"},
		{"my order still hasn't arrived after three weeks",
			"my order still hasn’t arrived after three weeks"},
		{"@acme@mastodon.social my order still has not arrived today",
			"@acme.bsky.social my order still has not arrived today"},
		{"新しいロケットを買いました最高です", "新しいロケットを買いました、最高です！"},
	}
	for _, p := range pairs {
		a, okA := Fingerprint(p.a, 5)
		b, okB := Fingerprint(p.b, 5)
		if !okA || !okB || a != b {
			t.Errorf("Fingerprint(%q) = %016x, %v and Fingerprint(%q) = %016x, %v; want equal (distance %d)",
				p.a, a, okA, p.b, b, okB, bits.OnesCount64(a^b))
		}
	}
}

func TestFingerprintKeepsDifferences(t *testing.T) {
	pairs := []struct{ a, b string }{
		// The suffix rule needs five words before the separator.
		{"Acme - the best", "Acme - the worst"},
		// A dash inside a sentence is not a syndication suffix when more follows.
		{"Acme raised prices again - and support is still a joke, honestly the worst",
			"Acme raised prices again - and support is still great, honestly the best"},
		{"Acme Rocket 3 battery life is amazing, lasted two full days",
			"Acme Rocket 3 battery life is terrible, dead by noon every day"},
	}
	for _, p := range pairs {
		a, _ := Fingerprint(p.a, 3)
		b, _ := Fingerprint(p.b, 3)
		if a == b {
			t.Errorf("Fingerprint(%q) = Fingerprint(%q) = %016x; want different", p.a, p.b, a)
		}
	}
}

func TestFingerprintTooShort(t *testing.T) {
	for _, s := range []string{"", "love acme", "acme down again?", "RT @x: so true #acme #love https://t.co/x",
		"🔥🔥🔥", "@acme @globex thanks a lot"} {
		if sig, ok := Fingerprint(s, 5); ok {
			t.Errorf("Fingerprint(%q) = %016x, true; want no fingerprint (fewer than 5 words)", s, sig)
		}
	}
	if _, ok := Fingerprint("one two three four five", 5); !ok {
		t.Errorf("Fingerprint(five words, 5) = false; want true")
	}
}

func TestClusterString(t *testing.T) {
	tests := []struct {
		c    cluster
		want string
	}{
		{cluster{}, ""},
		{cluster{kind: 's', key: 0x9f86d081884c7d65}, "s:9f86d081884c7d65"},
		{cluster{kind: 'u', key: 1}, "u:0000000000000001"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("cluster%+v.String() = %q; want %q", tt.c, got, tt.want)
		}
	}
}
