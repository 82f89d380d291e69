package twitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// budgetCursorKey is where the day's read count is kept in env.Cursors, so a
// restart does not reset the budget.
const budgetCursorKey = "read-budget"

// ErrBudgetSpent is returned when the daily read budget is spent.
var ErrBudgetSpent = errors.New("daily read budget spent")

// budget counts posts read per UTC day against daily_read_budget.
type budget struct {
	limit   int64 // 0: no budget (reads are still counted)
	cursors pipeline.CursorStore
	now     func() time.Time
	recheck time.Duration // how often a paused reader looks at the clock

	mu   sync.Mutex
	day  string
	used int64

	onSpent func(day string, used int64, resume time.Time) // once per day, when first spent
	onUsed  func(used int64)
	spentOn string
}

type budgetState struct {
	Day   string `json:"day"` // UTC, 2006-01-02
	Reads int64  `json:"reads"`
}

func utcDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// load reads the persisted count of today, if any.
func (b *budget) load(ctx context.Context) error {
	raw, err := b.cursors.Get(ctx, budgetCursorKey)
	if errors.Is(err, pipeline.ErrNoCursor) {
		b.mu.Lock()
		b.day = utcDay(b.now())
		b.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("load read budget: %w", err)
	}
	var st budgetState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("load read budget: decode %q: %w", raw, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.day = utcDay(b.now())
	if st.Day == b.day {
		b.used = st.Reads
	}
	if b.onUsed != nil {
		b.onUsed(b.used)
	}
	return nil
}

// roll starts a new day's count when the UTC day changed. b.mu is held.
func (b *budget) roll() {
	if d := utcDay(b.now()); d != b.day {
		b.day, b.used = d, 0
		if b.onUsed != nil {
			b.onUsed(0)
		}
	}
}

// remaining returns how many posts may still be read today; -1 means no budget.
func (b *budget) remaining() int64 {
	if b.limit == 0 {
		return -1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	return max(b.limit-b.used, 0)
}

// add counts n posts read and persists the day's count.
func (b *budget) add(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	b.mu.Lock()
	b.roll()
	b.used += int64(n)
	st := budgetState{Day: b.day, Reads: b.used}
	if b.onUsed != nil {
		b.onUsed(b.used)
	}
	b.mu.Unlock()
	raw, _ := json.Marshal(st)
	if err := b.cursors.Put(ctx, budgetCursorKey, raw); err != nil {
		return fmt.Errorf("save read budget: %w", err)
	}
	return nil
}

// wait returns at once while budget is left, and otherwise blocks until the
// next UTC day (or ctx is done).
func (b *budget) wait(ctx context.Context) error {
	for {
		if b.remaining() != 0 {
			return nil
		}
		b.mu.Lock()
		now := b.now()
		resume := time.Date(now.UTC().Year(), now.UTC().Month(), now.UTC().Day()+1, 0, 0, 0, 0, time.UTC)
		if b.spentOn != b.day {
			b.spentOn = b.day
			if b.onSpent != nil {
				b.onSpent(b.day, b.used, resume)
			}
		}
		b.mu.Unlock()
		if err := sleepCtx(ctx, min(resume.Sub(now), b.recheck)); err != nil {
			return err
		}
	}
}
