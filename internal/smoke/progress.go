package smoke

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress lines start after progressQuiet so that short runs stay silent,
// then come every progressEvery.
const (
	progressQuiet = 2 * time.Second
	progressEvery = time.Second
)

// progress prints the current phase and its counter periodically. The zero
// writer disables printing; the counters still work.
type progress struct {
	w     io.Writer
	start time.Time

	mu         sync.Mutex
	phase      string
	total      int64
	phaseStart time.Time
	note       string
	done       atomic.Int64

	stopCh chan struct{}
	wg     sync.WaitGroup
}

func startProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now(), stopCh: make(chan struct{})}
	p.phaseStart = p.start
	if w == nil {
		return p
	}
	p.wg.Add(1)
	go p.loop()
	return p
}

// setPhase names what the run does now; total > 0 makes lines show done/total.
func (p *progress) setPhase(phase string, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.total, p.phaseStart, p.note = phase, total, time.Now(), ""
	p.done.Store(0)
}

// setNote adds a remark to the progress lines of the current phase, e.g.
// the error being retried; "" removes it.
func (p *progress) setNote(note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.note = note
}

func (p *progress) add(n int64) { p.done.Add(n) }

func (p *progress) stop() {
	if p.w == nil {
		return
	}
	close(p.stopCh)
	p.wg.Wait()
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stopCh:
			return
		case now := <-t.C:
			if now.Sub(p.start) < progressQuiet {
				continue
			}
			p.print(now)
		}
	}
}

func (p *progress) print(now time.Time) {
	p.mu.Lock()
	phase, total, phaseStart, note := p.phase, p.total, p.phaseStart, p.note
	p.mu.Unlock()
	line := fmt.Sprintf("smoke: %6.1fs %s", now.Sub(p.start).Seconds(), phase)
	if total > 0 {
		done := p.done.Load()
		line += fmt.Sprintf(" %d/%d (%.0f/s)", done, total, rate(float64(done), now.Sub(phaseStart)))
	}
	if note != "" {
		line += " - " + note
	}
	fmt.Fprintln(p.w, line)
}
