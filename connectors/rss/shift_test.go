package rss

import (
	"io/fs"
	"testing"
	"time"
)

// itemDates parses a feed as the connector does and returns its items' dates.
func itemDates(t *testing.T, name string, b []byte) []time.Time {
	t.Helper()
	ct := "application/xml"
	if name == "reviews.json" {
		ct = "application/feed+json"
	}
	pf, err := parseFeed(b, ct)
	if err != nil {
		t.Fatalf("parseFeed(%s) = %v", name, err)
	}
	var out []time.Time
	for _, it := range pf.Items {
		switch {
		case it.PublishedParsed != nil:
			out = append(out, *it.PublishedParsed)
		case it.UpdatedParsed != nil:
			out = append(out, *it.UpdatedParsed)
		default:
			t.Errorf("%s: item %q has no date", name, it.Title)
		}
	}
	return out
}

func TestDemoFeedsAtEndsJustBeforeStart(t *testing.T) {
	start := time.Date(2031, 3, 9, 0, 30, 15, 0, time.UTC)
	orig, shifted := DemoFeeds(), DemoFeedsAt(start)
	names, err := fs.Glob(orig, "*")
	if err != nil || len(names) != 4 {
		t.Fatalf("demo corpus files = %v, %v; want 4", names, err)
	}
	var newest time.Time
	var offset time.Duration
	items := 0
	for _, n := range names {
		ob, _ := fs.ReadFile(orig, n)
		sb, err := fs.ReadFile(shifted, n)
		if err != nil {
			t.Fatal(err)
		}
		od, sd := itemDates(t, n, ob), itemDates(t, n, sb)
		if len(od) != len(sd) || len(sd) == 0 {
			t.Fatalf("%s: %d items before the shift, %d after; want the same, more than 0", n, len(od), len(sd))
		}
		for i := range sd {
			d := sd[i].Sub(od[i])
			if offset == 0 {
				offset = d
			}
			if d != offset {
				t.Errorf("%s item %d moved by %v; want every item moved by the same %v", n, i, d, offset)
			}
			if sd[i].After(newest) {
				newest = sd[i]
			}
			if !sd[i].Before(start) {
				t.Errorf("%s item %d dated %v; want before the start %v", n, i, sd[i], start)
			}
		}
		items += len(sd)
	}
	if want := start.Add(-time.Minute).Truncate(time.Second); !newest.Equal(want) {
		t.Errorf("newest item after the shift = %v; want %v (a minute before the start)", newest, want)
	}
	if items < 70 {
		t.Errorf("demo corpus has %d items; want the whole corpus (81)", items)
	}
}

func TestShiftDatesFormats(t *testing.T) {
	in := `<pubDate>Wed, 25 Nov 2026 09:12:00 +0100</pubDate><updated>2026-11-25T11:48:00Z</updated>"date_published": "2026-11-24T20:40:00.5+02:00" 2026/11/25`
	want := `<pubDate>Thu, 26 Nov 2026 10:12:00 +0100</pubDate><updated>2026-11-26T12:48:00Z</updated>"date_published": "2026-11-25T21:40:00+02:00" 2026/11/25`
	if got := string(ShiftDates([]byte(in), 25*time.Hour)); got != want {
		t.Errorf("ShiftDates() =\n%s\nwant\n%s", got, want)
	}
}
