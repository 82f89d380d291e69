package trend

import (
	"math"
	"time"
)

// The seasonal profile: for every completed hour, the ratio of its mean
// count to the mean of the 24 hours ending with it (shrunk towards 1 by a
// pseudo-count, so sparse series stay flat) is kept per hour of day (last
// dailyKeep days) and per hour of week (last SeasonWeeks+2 weeks). An hour
// of the week's factor is the median of its weekly ratios once it has
// SeasonWeeks of them, else the median of its hour of day's ratios once it
// has SeasonDays of them, else 1; the profile is scaled to average 1 and
// interpolated linearly between hour centres.

func hourIndex(t time.Time) int64 { return int64(math.Floor(float64(t.Unix()) / 3600)) }

// hourOfWeek maps a Unix hour index to 0..167, Monday 00:00 UTC = 0.
func hourOfWeek(h int64) int {
	// 1970-01-01 was a Thursday: shift so Monday starts the week.
	return int(((h+3*24)%hoursPerWeek + hoursPerWeek) % hoursPerWeek)
}

// advanceHour closes the hour before t's: it feeds the long-term level and
// the seasonal profile.
func (d *Detector) advanceHour(t time.Time) {
	st := &d.st
	h := hourIndex(t)
	if st.HourBkts == 0 {
		st.Hour = h // nothing accumulated yet
		return
	}
	if h <= st.Hour {
		return
	}
	// Close st.Hour. Hours skipped entirely had no buckets at all (a gap
	// beyond maxGapBuckets); they teach nothing.
	mean := st.HourSum / st.HourBkts
	if st.HourS > 0 {
		st.Long.push(st.HourSum / st.HourS)
		d.longLevel = median(st.Long.Buf, d.scratch)
	}
	if !d.cfg.Seasonal {
		st.Hour, st.HourSum, st.HourBkts, st.HourS = h, 0, 0, 0
		return
	}
	st.Trail.push(mean)
	if st.Trail.full() {
		a := d.hourMeanA
		ratio := (mean + a) / (st.Trail.sum()/float64(st.Trail.len()) + a)
		how := hourOfWeek(st.Hour)
		st.Daily[how%24].push(ratio)
		st.Weekly[how].push(ratio)
	}
	st.Hour, st.HourSum, st.HourBkts, st.HourS = h, 0, 0, 0
	d.rebuildProfile()
}

// rebuildProfile recomputes the cached hour-of-week factors.
func (d *Detector) rebuildProfile() {
	st := &d.st
	sum, n := 0.0, 0
	for how := range hoursPerWeek {
		f := 1.0
		if w := &st.Weekly[how]; w.len() >= d.cfg.SeasonWeeks {
			f = median(w.Buf, d.scratch)
		} else if dl := &st.Daily[how%24]; dl.len() >= d.cfg.SeasonDays {
			f = median(dl.Buf, d.scratch)
		}
		d.profile[how] = f
		sum += f
		n++
	}
	d.haveProf = false
	if mean := sum / float64(n); mean > 0 {
		for i := range d.profile {
			d.profile[i] /= mean
			if d.profile[i] != 1 {
				d.haveProf = true
			}
		}
	}
}

// seasonal returns the profile's factor at t (1 without a profile), with a
// floor so that a quiet hour never expects exactly nothing.
func (d *Detector) seasonal(t time.Time) float64 {
	if !d.cfg.Seasonal || !d.haveProf {
		return 1
	}
	h := hourIndex(t)
	frac := float64(t.Unix()-h*3600) / 3600
	how := hourOfWeek(h)
	var f float64
	if frac < 0.5 {
		f = d.profile[(how+hoursPerWeek-1)%hoursPerWeek]*(0.5-frac) + d.profile[how]*(0.5+frac)
	} else {
		f = d.profile[how]*(1.5-frac) + d.profile[(how+1)%hoursPerWeek]*(frac-0.5)
	}
	return math.Max(f, 0.05)
}
