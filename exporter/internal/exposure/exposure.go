// Package exposure suppresses repeated feature flag exposures.
//
// PostHog's experiments count exposures from $feature_flag_called events,
// and PostHog's SDKs send one per (distinct_id, flag, response), remembering
// what they sent in a bounded cache (posthog-go: an LRU of 300,000 keys;
// posthog-python and posthog-node: per-process dictionaries). OpenTelemetry
// records a feature_flag.evaluation event on every evaluation, many per
// request: a Set lets the first exposure through and suppresses repeats for a
// time window, in bounded memory, with no goroutine: entries expire lazily
// and, when the set is full, the oldest is evicted.
package exposure

import (
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxEntries is posthog-go's cache size for reported flags
// (CACHE_DEFAULT_SIZE, v1.23.1). A full set holds about 21 MB: 70.6 bytes an
// entry, from
//
//	go test ./exporter/internal/exposure -run XXX -bench BenchmarkAdmit/memory -benchtime 1x
const DefaultMaxEntries = 300_000

// key is a 128-bit hash of an exposure: a small fixed cost per entry however
// long the distinct_id. Two maphash seeds make a false "already seen" (a
// collision) as unlikely as two random 128-bit values matching.
type key [2]uint64

type entry struct {
	key     key
	expires int64 // nanoseconds since the set's start
}

// Set remembers recent exposures. It is safe for concurrent use.
type Set struct {
	window     time.Duration
	maxEntries int
	now        func() time.Time
	start      time.Time
	seeds      [2]maphash.Seed

	mu      sync.Mutex
	expires map[key]int64 // when each remembered exposure's window ends
	ring    []entry       // insertion order; ring[head] is the oldest
	head    int
	count   int
	stats   Stats
}

// Stats counts what a Set did.
type Stats struct {
	// Admitted exposures were first in their window: send them.
	Admitted uint64
	// Suppressed exposures repeated one admitted less than a window ago.
	Suppressed uint64
	// Evicted entries were dropped before their window ended because the
	// set was full: a repeat of one of them will be admitted again.
	Evicted uint64
	// Entries is how many exposures the set remembers now.
	Entries int
}

// New returns a Set that suppresses repeats for window, remembering at most
// maxEntries exposures (DefaultMaxEntries when maxEntries <= 0). A window
// <= 0 suppresses nothing. now is the clock (time.Now when nil).
func New(window time.Duration, maxEntries int, now func() time.Time) *Set {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if now == nil {
		now = time.Now
	}
	return &Set{
		window:     window,
		maxEntries: maxEntries,
		now:        now,
		start:      now(),
		seeds:      [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		expires:    make(map[key]int64),
	}
}

// Admit reports whether the exposure of flag to distinctID with response
// should be sent: true the first time in a window, false (and counted as
// suppressed) for a repeat. The response is compared with its type, as
// posthog-go does: true and "true" are different responses.
func (s *Set) Admit(distinctID, flag string, response any) bool {
	if s.window <= 0 {
		s.mu.Lock()
		s.stats.Admitted++
		s.mu.Unlock()
		return true
	}
	k := s.hash(distinctID, flag, response)
	now := int64(s.now().Sub(s.start))

	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if exp, ok := s.expires[k]; ok && exp > now {
		s.stats.Suppressed++
		return false
	}
	if s.count == s.maxEntries {
		s.dropOldest()
		s.stats.Evicted++
	}
	e := entry{key: k, expires: now + int64(s.window)}
	s.push(e)
	s.expires[k] = e.expires
	s.stats.Admitted++
	return true
}

// Stats returns the counts so far.
func (s *Set) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Entries = s.count
	return st
}

// expire drops the entries whose window has ended. Entries are inserted in
// time order, so they expire from the oldest.
func (s *Set) expire(now int64) {
	for s.count > 0 && s.ring[s.head].expires <= now {
		s.dropOldest()
	}
	if s.count == 0 && len(s.ring) > 64 {
		// Idle again after a burst: give the memory back.
		s.ring, s.head = nil, 0
		s.expires = make(map[key]int64)
	}
}

func (s *Set) dropOldest() {
	e := s.ring[s.head]
	// A key admitted again after its window ended (possible behind younger
	// entries when the clock steps back) has a newer expiry: keep that one.
	if exp, ok := s.expires[e.key]; ok && exp == e.expires {
		delete(s.expires, e.key)
	}
	s.ring[s.head] = entry{}
	s.head = (s.head + 1) % len(s.ring)
	s.count--
}

// push appends e, growing the ring by doubling up to maxEntries so that a
// set with few exposures stays small.
func (s *Set) push(e entry) {
	if s.count == len(s.ring) {
		grown := make([]entry, min(max(2*len(s.ring), 16), s.maxEntries))
		for i := range s.count {
			grown[i] = s.ring[(s.head+i)%len(s.ring)]
		}
		s.ring, s.head = grown, 0
	}
	s.ring[(s.head+s.count)%len(s.ring)] = e
	s.count++
}

func (s *Set) hash(distinctID, flag string, response any) key {
	var k key
	for i := range k {
		var h maphash.Hash
		h.SetSeed(s.seeds[i])
		writeString(&h, distinctID)
		writeString(&h, flag)
		writeResponse(&h, response)
		k[i] = h.Sum64()
	}
	return k
}

// writeString writes s with its length, so that ("ab", "c") and ("a", "bc")
// differ.
func writeString(h *maphash.Hash, s string) {
	var n [20]byte
	h.Write(strconv.AppendUint(n[:0], uint64(len(s)), 10))
	h.WriteByte(':')
	h.WriteString(s)
}

func writeResponse(h *maphash.Hash, r any) {
	switch r := r.(type) {
	case bool:
		h.WriteByte('b')
		if r {
			h.WriteByte('1')
		} else {
			h.WriteByte('0')
		}
	case string:
		h.WriteByte('s')
		writeString(h, r)
	case int64:
		h.WriteByte('i')
		writeString(h, strconv.FormatInt(r, 10))
	case float64:
		h.WriteByte('f')
		writeString(h, strconv.FormatUint(math.Float64bits(r), 16))
	case nil:
		h.WriteByte('n')
	default:
		h.WriteByte('?')
		writeString(h, fmt.Sprintf("%T:%v", r, r))
	}
}
