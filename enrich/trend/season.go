package trend

import (
	"math"
	"time"
)

// The seasonal profile is rebuilt from the hourly history (the mean count
// per bucket of every completed hour, SeasonWeeks weeks of it) each time an
// hour closes:
//
//   - the history is cut into whole weeks ending with the newest hour (or,
//     in the first week, taken as one piece), and every hour becomes its
//     ratio to its piece's mean, shrunk towards 1 by a pseudo-count so
//     sparse series keep a flat profile instead of chasing zeros;
//   - a day-type profile pools those ratios by hour of day over weekdays
//     and over weekend days (Saturday, Sunday, UTC): after the first
//     weekend the detector knows that weekends are quieter, before any
//     whole week of history;
//   - an hour of the week's factor is the median of its own ratios (one
//     per whole week) shrunk towards its day type's pooled value, so one
//     week of history already gives an hour-of-week profile, and several
//     weeks let weekdays differ (a Friday night, a Monday morning);
//   - the profile is scaled to average 1 and interpolated linearly between
//     hour centres.
//
// It needs SeasonDays days of history; until then every factor is 1.

func hourIndex(t time.Time) int64 { return int64(math.Floor(float64(t.Unix()) / 3600)) }

// hourOfWeek maps a Unix hour index to 0..167, Monday 00:00 UTC = 0.
func hourOfWeek(h int64) int {
	// 1970-01-01 was a Thursday: shift so Monday starts the week.
	return int(((h+3*24)%hoursPerWeek + hoursPerWeek) % hoursPerWeek)
}

// dayType is 1 for Saturday and Sunday, 0 for weekdays.
func dayType(how int) int {
	if how >= 5*24 {
		return 1
	}
	return 0
}

// missingHour marks an hour of the history with no observation.
const missingHour = -1

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
	mean := st.HourSum / st.HourBkts
	if st.HourS > 0 {
		st.Long.push(st.HourSum / st.HourS)
		d.longLevel = interquartileMean(st.Long.Buf, d.scratch)
	}
	if d.cfg.Seasonal {
		// Hours skipped entirely (a gap beyond maxGapBuckets) are missing.
		if st.Hist.len() > 0 {
			for g := min(st.Hour-st.HistHour-1, int64(cap(st.Hist.Buf))); g > 0; g-- {
				st.Hist.push(missingHour)
			}
		}
		st.Hist.push(mean)
		st.HistHour = st.Hour
		d.rebuildProfile()
	}
	st.Hour, st.HourSum, st.HourBkts, st.HourS = h, 0, 0, 0
}

// rebuildProfile recomputes the hour-of-week factors from the hourly
// history.
func (d *Detector) rebuildProfile() {
	st := &d.st
	for i := range d.profile {
		d.profile[i] = 1
	}
	d.haveProf = false
	n := st.Hist.len()
	if n < 24*d.cfg.SeasonDays {
		return
	}
	sc := getSeasonScratch(n)
	defer seasonScratchPool.Put(sc)
	// The history oldest first, and each hour's ratio to its piece's mean.
	v := sc.histV[:n]
	q := sc.histQ[:n]
	for i := range n {
		v[i] = st.Hist.Buf[(st.Hist.Head+i)%n]
	}
	a := d.hourMeanA
	weeks := n / hoursPerWeek
	lo := 0
	ratios := func(from, to int) {
		sum, cnt := 0.0, 0
		for _, x := range v[from:to] {
			if x >= 0 {
				sum += x
				cnt++
			}
		}
		m := 0.0
		if cnt > 0 {
			m = sum / float64(cnt)
		}
		for i := from; i < to; i++ {
			q[i] = missingHour
			if v[i] >= 0 {
				q[i] = (v[i] + a) / (m + a)
			}
		}
	}
	if weeks == 0 {
		ratios(0, n)
	} else {
		lo = n - weeks*hoursPerWeek
		for k := range weeks {
			ratios(n-(k+1)*hoursPerWeek, n-k*hoursPerWeek)
		}
	}
	// Pool by day type and hour of day.
	newest := st.HistHour
	pool := &sc.pool
	for g := range pool {
		pool[g] = pool[g][:0]
	}
	for i := lo; i < n; i++ {
		if q[i] < 0 {
			continue
		}
		how := hourOfWeek(newest - int64(n-1-i))
		g := dayType(how)*24 + how%24
		pool[g] = append(pool[g], q[i])
	}
	var pooled [48]float64
	for g := range pool {
		if len(pool[g]) > 0 {
			pooled[g] = median(pool[g], sc.sort)
		}
	}
	for hod := range 24 {
		for dt := range 2 {
			if len(pool[dt*24+hod]) == 0 {
				pooled[dt*24+hod] = pooled[(1-dt)*24+hod]
				if len(pool[(1-dt)*24+hod]) == 0 {
					pooled[dt*24+hod] = 1
				}
			}
		}
	}
	// Own ratios per hour of week, shrunk towards the pooled value.
	const kappa = 1 // the pooled value weighs as much as one week's own ratio
	sum := 0.0
	for how := range hoursPerWeek {
		p := pooled[dayType(how)*24+how%24]
		f := p
		if weeks > 0 {
			own := sc.own[:0]
			// The newest hour of this hour of week in the history.
			off := (hourOfWeek(newest) - how + hoursPerWeek) % hoursPerWeek
			for i := n - 1 - off; i >= lo; i -= hoursPerWeek {
				if q[i] >= 0 {
					own = append(own, q[i])
				}
			}
			if c := float64(len(own)); c > 0 {
				f = (c*median(own, sc.sort) + kappa*p) / (c + kappa)
			}
			sc.own = own[:0]
		}
		d.profile[how] = f
		sum += f
	}
	if mean := sum / hoursPerWeek; mean > 0 {
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
