package collectortest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestStopSendsSIGTERM(t *testing.T) {
	var out lockedBuffer
	// The shell exits 0 on SIGTERM, as a collector does after a clean shutdown.
	p, err := Start(context.Background(), "sh", []string{"-c", `trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done`}, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	// The shell says "up" once its trap is set: SIGTERM before would kill it.
	for !strings.Contains(out.String(), "up\n") {
		if p.Exited() {
			t.Fatalf("exited early: %v", p.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p.Exited() {
		t.Fatalf("exited early: %v", p.Err())
	}
	if err := p.Stop(10 * time.Second); err != nil {
		t.Fatalf("Stop = %v, want nil", err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if got := out.b.String(); got != "up\nbye\n" {
		t.Errorf("output %q", got)
	}
}

func TestWaitListeningFailsWhenTheProcessExits(t *testing.T) {
	p, err := Start(context.Background(), "sh", []string{"-c", "exit 3"}, nil, &lockedBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	err = p.WaitListening(context.Background(), "127.0.0.1:1", 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("WaitListening = %v, want the exit status", err)
	}
}
