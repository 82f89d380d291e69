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
	if want := testWindows + 2*len(d.scalesN); len(st.Tails) != want || len(st.LogPhi) != len(d.scalesN) || len(st.NPhi) != len(d.scalesN) {
		return fmt.Errorf("%w: %d z histories and %d dispersions for %d window scales, want %d and %d", ErrState,
			len(st.Tails), len(st.LogPhi), len(d.scalesN), want, len(d.scalesN))
	}
	for i := range st.Tails {
		if len(st.Tails[i].Bins) != tailBins {
			return fmt.Errorf("%w: z history %d has %d bins, want %d", ErrState, i, len(st.Tails[i].Bins), tailBins)
		}
	}
	st.Level.fixCap(d.levelN)
	st.WinY.fixCap(d.winN() + 1)
	st.WinS.fixCap(d.winN())
	st.RampN.fixCap(d.rampN)
	st.Long.fixCap(d.longN)
	st.Hist.fixCap(d.histCap())
	d.st = st
	d.longLevel = interquartileMean(st.Long.Buf, d.scratch)
	d.rebuildProfile()
	return nil
}
