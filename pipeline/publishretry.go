package pipeline

import (
	"context"
	"time"
)

// PublishUntilAcked publishes ms, retrying with backoff bo until the
// publisher reports every mention acknowledged: the mentions were read
// (and maybe paid for), so a connector keeps them rather than move on. It
// fails only when ctx ends. onRetry, if set, is told each failure and the
// wait before the next attempt (connectors log and count it).
func PublishUntilAcked(ctx context.Context, p Publisher, ms []*Mention, bo Backoff, onRetry func(err error, wait time.Duration)) error {
	if len(ms) == 0 {
		return nil
	}
	for {
		err := p.Publish(ctx, ms)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := bo.Next()
		if onRetry != nil {
			onRetry(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
