package poll

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Common are the config keys every polling connector has, inlined in its
// Config (`yaml:",inline"`).
type Common struct {
	BaseURL  string        `yaml:"base_url"`
	Interval time.Duration `yaml:"interval"`  // polling interval per listing
	MaxPages int           `yaml:"max_pages"` // pages read per listing and poll
	// Refresh is how long published items are re-checked for edits and
	// deletions; 0s turns re-checking off.
	Refresh *time.Duration `yaml:"refresh"`
	// RefreshInterval is how often they are re-checked, default 5 × interval.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// RefreshMax caps how many items are re-checked, newest first.
	RefreshMax   int `yaml:"refresh_max"`
	MaxItemBytes int `yaml:"max_item_bytes"` // a larger item is counted and skipped
}

// Defaults are a connector's defaults for Common.
type Defaults struct {
	BaseURL    string
	Interval   time.Duration
	MaxPages   int // and the largest allowed
	Refresh    time.Duration
	RefreshMax int
}

// Resolved is Common validated, with defaults applied.
type Resolved struct {
	BaseURL         string
	Interval        time.Duration
	MaxPages        int
	Refresh         time.Duration
	RefreshInterval time.Duration
	RefreshMax      int
	MaxItemBytes    int
}

// DefaultMaxItemBytes is the default item size limit.
const DefaultMaxItemBytes = 1 << 20

// Resolve validates c, appending problems to errs.
func (c Common) Resolve(d Defaults, errs *[]error) Resolved {
	bad := func(format string, args ...any) { *errs = append(*errs, fmt.Errorf(format, args...)) }
	r := Resolved{BaseURL: d.BaseURL, Interval: c.Interval, MaxPages: c.MaxPages, Refresh: d.Refresh,
		RefreshInterval: c.RefreshInterval, RefreshMax: c.RefreshMax, MaxItemBytes: c.MaxItemBytes}
	if c.BaseURL != "" {
		r.BaseURL = CheckURL("base_url", c.BaseURL, errs)
	}
	if r.Interval == 0 {
		r.Interval = d.Interval
	} else if r.Interval < time.Second {
		bad("interval: %v is shorter than 1s", r.Interval)
	}
	if r.MaxPages == 0 {
		r.MaxPages = d.MaxPages
	} else if r.MaxPages < 1 || r.MaxPages > d.MaxPages {
		bad("max_pages: %d is not between 1 and %d", r.MaxPages, d.MaxPages)
	}
	if c.Refresh != nil {
		r.Refresh = *c.Refresh
	}
	if r.Refresh < 0 {
		bad("refresh: %v is negative (0s turns re-checking off)", r.Refresh)
	}
	if r.RefreshInterval == 0 {
		r.RefreshInterval = 5 * r.Interval
	} else if r.RefreshInterval < time.Second {
		bad("refresh_interval: %v is shorter than 1s", r.RefreshInterval)
	}
	if r.RefreshMax == 0 {
		r.RefreshMax = d.RefreshMax
	} else if r.RefreshMax < 0 {
		bad("refresh_max: %d is negative", r.RefreshMax)
	}
	if r.MaxItemBytes == 0 {
		r.MaxItemBytes = DefaultMaxItemBytes
	} else if r.MaxItemBytes < 1024 {
		bad("max_item_bytes: %d is below 1024", r.MaxItemBytes)
	}
	return r
}

// CheckURL validates an http(s) URL and returns it without a trailing slash.
func CheckURL(key, v string, errs *[]error) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		*errs = append(*errs, fmt.Errorf("%s: %q is not an http(s) URL", key, v))
	}
	return strings.TrimRight(v, "/")
}
