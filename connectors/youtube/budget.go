package youtube

import (
	"context"
	"sync"
	"time"
	_ "time/tzdata" // the quota day is Pacific time, wherever earshot runs

	"github.com/earshot-dev/earshot/connectors/poll"
)

// pacific is the time zone of YouTube's quota day.
var pacific = func() *time.Location {
	l, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return l
}()

// nextPacificMidnight is when the quota day after t starts.
func nextPacificMidnight(t time.Time) time.Time {
	p := t.In(pacific)
	return time.Date(p.Year(), p.Month(), p.Day()+1, 0, 0, 0, 0, pacific)
}

func pacificDay(t time.Time) string { return t.In(pacific).Format(time.DateOnly) }

// budget is the day's spend in quota units, kept in the cursor store
// (key budgetKey) after every request so a restart does not spend again
// what was spent.
type budget struct {
	limit int
	now   func() time.Time

	mu    sync.Mutex
	state budgetState
}

type budgetState struct {
	Day  string `json:"day"` // Pacific date
	Used int    `json:"used"`
}

const budgetKey = "budget"

func (b *budget) load(ctx context.Context, r *poll.Runner) {
	r.LoadJSON(ctx, budgetKey, &b.state)
}

// spend reserves cost units, or returns a *poll.Wait until the next quota
// day when the budget would be exceeded.
func (b *budget) spend(ctx context.Context, r *poll.Runner, cost int) error {
	b.mu.Lock()
	now := b.now()
	if day := pacificDay(now); b.state.Day != day {
		b.state = budgetState{Day: day}
	}
	if b.state.Used+cost > b.limit {
		b.mu.Unlock()
		return &poll.Wait{Until: nextPacificMidnight(now), Reason: "the daily quota budget is spent"}
	}
	b.state.Used += cost
	st := b.state
	b.mu.Unlock()
	r.Env.Metrics.RateLimitRemaining(float64(b.limit - st.Used))
	if err := r.SaveJSON(ctx, budgetKey, st); err != nil && ctx.Err() == nil {
		r.Warn("cursor", "saving the quota budget failed", "error", err)
	}
	return nil
}

// exhaust records that the API refused for quota: nothing more today.
func (b *budget) exhaust(ctx context.Context, r *poll.Runner) error {
	b.mu.Lock()
	now := b.now()
	b.state = budgetState{Day: pacificDay(now), Used: b.limit}
	st := b.state
	b.mu.Unlock()
	r.Env.Metrics.RateLimitRemaining(0)
	if err := r.SaveJSON(ctx, budgetKey, st); err != nil && ctx.Err() == nil {
		r.Warn("cursor", "saving the quota budget failed", "error", err)
	}
	return &poll.Wait{Until: nextPacificMidnight(now), Reason: "YouTube answered quotaExceeded"}
}
