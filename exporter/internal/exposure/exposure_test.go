package exposure

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a manual clock for tests.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestAdmitSuppressesRepeats(t *testing.T) {
	s := New(time.Hour, 0, nil)
	assert.True(t, s.Admit("u1", "checkout", "test"))
	assert.False(t, s.Admit("u1", "checkout", "test"))
	assert.False(t, s.Admit("u1", "checkout", "test"))
	assert.True(t, s.Admit("u1", "checkout", "control"), "another response")
	assert.True(t, s.Admit("u2", "checkout", "test"), "another user")
	assert.True(t, s.Admit("u1", "search", "test"), "another flag")
	assert.True(t, s.Admit("u1", "search", true))
	assert.True(t, s.Admit("u1", "search", false))
	assert.False(t, s.Admit("u1", "search", true))
	assert.True(t, s.Admit("u1", "ab", "c"))
	assert.True(t, s.Admit("u1", "a", "bc"), "fields do not run into each other")
	assert.True(t, s.Admit("u1a", "b", "c"))
	assert.True(t, s.Admit("u1", "n", int64(1)))
	assert.True(t, s.Admit("u1", "n", 1.0))
	assert.True(t, s.Admit("u1", "n", nil))
	assert.True(t, s.Admit("u1", "n", []string{"x"}))
	assert.False(t, s.Admit("u1", "n", []string{"x"}))
	assert.True(t, s.Admit("u1", "n", []string{"y"}))
	assert.Equal(t, Stats{Admitted: 14, Suppressed: 4, Entries: 14}, s.Stats())
}

func TestAdmitWindow(t *testing.T) {
	var c clock
	s := New(time.Hour, 0, c.now)
	require.True(t, s.Admit("u1", "f", "a"))
	c.advance(30 * time.Minute)
	assert.False(t, s.Admit("u1", "f", "a"))
	c.advance(30*time.Minute - 1)
	assert.False(t, s.Admit("u1", "f", "a"), "repeats do not extend the window, and it is not over")
	c.advance(1)
	assert.True(t, s.Admit("u1", "f", "a"), "a window after the exposure sent, it is sent again")
	assert.False(t, s.Admit("u1", "f", "a"))
	assert.Equal(t, 1, s.Stats().Entries, "the expired entry is gone")

	c.advance(2 * time.Hour)
	assert.True(t, s.Admit("u2", "f", "a"))
	assert.Equal(t, 1, s.Stats().Entries, "expired entries go when the next exposure comes")
}

func TestAdmitZeroWindowSuppressesNothing(t *testing.T) {
	s := New(0, 10, nil)
	for range 3 {
		assert.True(t, s.Admit("u1", "f", "a"))
	}
	assert.Equal(t, Stats{Admitted: 3}, s.Stats())
}

func TestMemoryBound(t *testing.T) {
	const maxEntries = 100
	s := New(time.Hour, maxEntries, nil)
	for i := range 10_000 {
		require.True(t, s.Admit(fmt.Sprint("user-", i), "f", "a"))
		require.LessOrEqual(t, s.Stats().Entries, maxEntries)
		require.LessOrEqual(t, len(s.expires), maxEntries)
		require.LessOrEqual(t, len(s.ring), maxEntries)
	}
	st := s.Stats()
	assert.Equal(t, maxEntries, st.Entries)
	assert.Equal(t, uint64(10_000-maxEntries), st.Evicted)
	// The newest are remembered, the oldest were evicted.
	assert.False(t, s.Admit("user-9999", "f", "a"))
	assert.False(t, s.Admit(fmt.Sprint("user-", 10_000-maxEntries), "f", "a"))
	assert.True(t, s.Admit("user-0", "f", "a"))
}

func TestEvictsOldestFirst(t *testing.T) {
	s := New(time.Hour, 2, nil)
	s.Admit("a", "f", "x")
	s.Admit("b", "f", "x")
	s.Admit("c", "f", "x") // evicts a
	assert.False(t, s.Admit("b", "f", "x"))
	assert.False(t, s.Admit("c", "f", "x"))
	assert.True(t, s.Admit("a", "f", "x"), "a was evicted") // evicts b
	assert.True(t, s.Admit("b", "f", "x"))
}

// TestClockGoingBackwards covers a wall clock stepped back: an entry can
// expire behind a younger one and be admitted again; evicting its old copy
// must not forget the new one.
func TestClockGoingBackwards(t *testing.T) {
	var c clock
	c.advance(10 * time.Hour)
	s := New(time.Hour, 3, c.now)
	require.True(t, s.Admit("old", "f", "x"))
	c.advance(-5 * time.Hour)
	require.True(t, s.Admit("young", "f", "x")) // queued behind "old", expires earlier
	c.advance(90 * time.Minute)                 // young's window is over, old's (ahead of it) is not
	require.True(t, s.Admit("young", "f", "x"), "its window is over")
	require.True(t, s.Admit("x1", "f", "x")) // full: evicts old
	require.True(t, s.Admit("x2", "f", "x")) // evicts young's first copy
	assert.False(t, s.Admit("young", "f", "x"), "its second copy is still remembered")
	assert.Equal(t, 3, s.Stats().Entries)
}

func TestShrinksWhenIdle(t *testing.T) {
	var c clock
	s := New(time.Minute, 0, c.now)
	for i := range 1000 {
		s.Admit(fmt.Sprint(i), "f", "x")
	}
	c.advance(time.Hour)
	s.Admit("late", "f", "x")
	assert.LessOrEqual(t, len(s.ring), 16)
	assert.Len(t, s.expires, 1)
}

func TestConcurrentAdmit(t *testing.T) {
	s := New(time.Hour, 0, nil)
	const users, goroutines, rounds = 100, 8, 50
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				for u := range users {
					if s.Admit(fmt.Sprint("user-", (u+g+r)%users), "f", "x") {
						admitted.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(users), admitted.Load(), "each exposure sent exactly once")
	st := s.Stats()
	assert.Equal(t, uint64(users), st.Admitted)
	assert.Equal(t, uint64(users*goroutines*rounds-users), st.Suppressed)
}

// BenchmarkAdmit measures an exposure's cost, first seen and repeated, and
// reports what a remembered exposure costs in memory (B/entry: heap growth
// of a full set of DefaultMaxEntries, divided by its entries).
func BenchmarkAdmit(b *testing.B) {
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("0190b6a2-7d1c-7a3e-9f00-%012d", i)
	}
	b.Run("repeat", func(b *testing.B) {
		s := New(time.Hour, 0, nil)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.Admit(ids[i%len(ids)], "new-checkout", "test")
		}
	})
	b.Run("first", func(b *testing.B) {
		s := New(time.Hour, len(ids), nil)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.Admit(ids[i%len(ids)], "new-checkout", fmt.Sprint(i)) // fmt: the cost of a fresh key, as in real traffic
		}
	})
	b.Run("memory", func(b *testing.B) {
		for b.Loop() {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s := New(time.Hour, DefaultMaxEntries, nil)
			for i := range DefaultMaxEntries {
				s.Admit(ids[i%len(ids)], "new-checkout", int64(i))
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/DefaultMaxEntries, "B/entry")
			runtime.KeepAlive(s)
		}
	})
}
