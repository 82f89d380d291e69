package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestDeadLetterMsgKeepsBytesUpToMaxPayload(t *testing.T) {
	in := nats.Header{}
	in.Add(HeaderHistory, "2026-11-24T08:00:00Z sink: first")
	in.Set(HeaderReplays, "1")
	small := bytes.Repeat([]byte("a"), 1000)
	dl := deadLetterMsg("sink", "why", "mentions.enriched.rss", small, in, 64<<10)
	if !bytes.Equal(dl.Data, small) || dl.Header.Get(HeaderTruncated) != "" {
		t.Errorf("deadLetterMsg(1000 bytes) kept %d bytes, truncated %q; want all of them", len(dl.Data), dl.Header.Get(HeaderTruncated))
	}
	if dl.Subject != "deadletter.sink" || dl.Header.Get(HeaderReason) != "why" || dl.Header.Get(HeaderOrigSubject) != "mentions.enriched.rss" ||
		dl.Header.Get(HeaderReplays) != "1" || len(dl.Header.Values(HeaderHistory)) != 1 {
		t.Errorf("deadLetterMsg() = %s %v; want the reason, subject, replays and history", dl.Subject, dl.Header)
	}
	huge := bytes.Repeat([]byte("b"), 70<<10)
	dl = deadLetterMsg("sink", "why", "mentions.enriched.rss", huge, in, 64<<10)
	sum := sha256.Sum256(huge)
	if len(dl.Data)+headerSize(dl.Header) > 64<<10 || len(dl.Data) == 0 || !bytes.HasPrefix(huge, dl.Data) ||
		dl.Header.Get(HeaderTruncated) != strconv.Itoa(len(huge)) || dl.Header.Get(HeaderSHA256) != hex.EncodeToString(sum[:]) {
		t.Errorf("deadLetterMsg(70 KiB, max 64 KiB) kept %d bytes, headers %v; want a prefix within the limit, the size and hash", len(dl.Data), dl.Header)
	}
}
