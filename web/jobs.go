package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
)

// maxJobs bounds the finished jobs kept for their pages.
const maxJobs = 16

// job is a background task with its progress, for the job page.
type job struct {
	ID     string
	Done   bool
	Step   int
	Steps  int
	What   string
	Result string
	Error  string
}

// jobContext is a job's context and its progress reporter.
type jobContext struct {
	context.Context
	progress func(done, total int, what string)
}

// jobs runs and remembers background jobs. Every job's goroutine is
// joined by close.
type jobs struct {
	mu     sync.Mutex
	byID   map[string]*job
	order  []string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (js *jobs) init() {
	js.byID = map[string]*job{}
	js.ctx, js.cancel = context.WithCancel(context.Background())
}

// start runs fn in a new job and returns its id.
func (js *jobs) start(fn func(jobContext) (string, error)) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	j := &job{ID: hex.EncodeToString(b[:]), What: "starting"}
	js.mu.Lock()
	js.byID[j.ID] = j
	js.order = append(js.order, j.ID)
	for len(js.order) > maxJobs {
		if old := js.byID[js.order[0]]; old != nil && !old.Done {
			break
		}
		delete(js.byID, js.order[0])
		js.order = js.order[1:]
	}
	js.mu.Unlock()
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		jc := jobContext{Context: js.ctx, progress: func(done, total int, what string) {
			js.mu.Lock()
			j.Step, j.Steps, j.What = done, total, what
			js.mu.Unlock()
		}}
		res, err := fn(jc)
		js.mu.Lock()
		j.Done, j.Result = true, res
		if err != nil {
			j.Error = err.Error()
		}
		js.mu.Unlock()
	}()
	return j.ID
}

// get returns a copy of the job id.
func (js *jobs) get(id string) (job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.byID[id]
	if !ok {
		return job{}, false
	}
	return *j, true
}

// close cancels the running jobs and waits for them.
func (js *jobs) close() {
	js.cancel()
	js.wg.Wait()
}
