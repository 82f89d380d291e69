package trend

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrState is wrapped by UnmarshalBinary errors.
var ErrState = errors.New("bad trend detector state")

// MarshalBinary returns the detector's state (history, profiles, cooldowns)
// as versioned JSON, to keep in a KV store across restarts. The Config is
// not included: restore with the same (or a compatible) Config.
func (d *Detector) MarshalBinary() ([]byte, error) {
	b, err := json.Marshal(&d.st)
	if err != nil {
		return nil, fmt.Errorf("marshal trend state: %w", err)
	}
	return b, nil
}

// UnmarshalBinary replaces the detector's state with one from
// MarshalBinary. Windows that the Config has since resized keep their most
// recent values. On error the detector is unchanged.
func (d *Detector) UnmarshalBinary(b []byte) error {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if st.V != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrState, st.V, stateVersion)
	}
	if len(st.Daily) != 24 || len(st.Weekly) != hoursPerWeek {
		return fmt.Errorf("%w: %d daily and %d weekly profile slots, want 24 and %d", ErrState, len(st.Daily), len(st.Weekly), hoursPerWeek)
	}
	for i := range st.Tails {
		if len(st.Tails[i].Bins) != tailBins {
			return fmt.Errorf("%w: z history %d has %d bins, want %d", ErrState, i, len(st.Tails[i].Bins), tailBins)
		}
	}
	st.Level.fixCap(d.levelN)
	st.RampY.fixCap(d.rampN)
	st.RampN.fixCap(d.rampN)
	st.RampS.fixCap(d.rampN)
	st.Long.fixCap(d.longN)
	st.Trail.fixCap(24)
	for i := range st.Daily {
		st.Daily[i].fixCap(max(dailyKeep, d.cfg.SeasonDays))
	}
	for i := range st.Weekly {
		st.Weekly[i].fixCap(d.cfg.SeasonWeeks + 2)
	}
	d.st = st
	d.longLevel = median(st.Long.Buf, d.scratch)
	d.rebuildProfile()
	return nil
}
