package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/kith-net/kith/wire"
)

// The recent set answers for recentWindow after an add, then forgets, and
// holds no more than the window's worth of entries however many arrive.
func TestRecentSet(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	r := recentSet{now: func() time.Time { return now }}
	cidOf := func(i int) wire.Link { return wire.LinkTo(wire.CIDOf([]byte(fmt.Sprint(i)))) }
	first := cidOf(-1).CID()
	r.add(first)
	now = now.Add(recentWindow)
	if !r.has(first) {
		t.Fatal("forgotten within the window")
	}
	r.add(first) // a second add does not extend the window
	now = now.Add(time.Second)
	if r.has(first) {
		t.Fatal("remembered past the window")
	}
	// 10 adds a second for 10 windows: at most one window's worth kept.
	for i := range int(10 * recentWindow / (100 * time.Millisecond)) {
		now = now.Add(100 * time.Millisecond)
		r.add(cidOf(i).CID())
	}
	perWindow := int(recentWindow/(100*time.Millisecond)) + 1
	if len(r.m) > perWindow || len(r.q) > perWindow {
		t.Fatalf("%d entries in the map and %d in the queue, want at most %d", len(r.m), len(r.q), perWindow)
	}
	if _, ok := r.m[first.KeyString()]; ok {
		t.Fatal("an expired entry is still in the map")
	}
}

// A flood within one window keeps at most recentMax entries: the newest.
func TestRecentSetCap(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	r := recentSet{now: func() time.Time { return now }}
	cidOf := func(i int) wire.Link { return wire.LinkTo(wire.CIDOf([]byte(fmt.Sprint(i)))) }
	n := recentMax + 1000
	for i := range n {
		r.add(cidOf(i).CID())
	}
	if len(r.m) != recentMax || len(r.q) != recentMax {
		t.Fatalf("%d entries in the map and %d in the queue, want %d", len(r.m), len(r.q), recentMax)
	}
	if r.has(cidOf(999).CID()) {
		t.Error("an entry past the cap is still remembered")
	}
	if !r.has(cidOf(1000).CID()) || !r.has(cidOf(n-1).CID()) {
		t.Error("an entry within the cap is forgotten")
	}
}
