package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err                 error
		unavailable, reject bool
	}{
		{&ch.Exception{Code: 252, Message: "Too many parts"}, true, false},
		{&ch.Exception{Code: 241, Message: "Memory limit exceeded"}, true, false},
		{&ch.Exception{Code: 60, Message: "Table doesn't exist"}, false, true},
		{&ch.Exception{Code: 53, Message: "Type mismatch"}, false, true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true, false},
		{fmt.Errorf("read: %w", io.EOF), true, false},
		{ch.ErrAcquireConnTimeout, true, false},
		{context.DeadlineExceeded, true, false},
		{context.Canceled, false, false},
		{ch.ErrBatchInvalid, false, true},
		{errors.New("something new"), true, false},
	}
	for _, tt := range tests {
		got := classify(tt.err)
		if errors.Is(got, ErrUnavailable) != tt.unavailable || errors.Is(got, ErrRejected) != tt.reject || !errors.Is(got, tt.err) {
			t.Errorf("classify(%q) = %v; want unavailable=%v rejected=%v wrapping the original",
				tt.err, got, tt.unavailable, tt.reject)
		}
	}
}
