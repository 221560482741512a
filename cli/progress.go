package cli

import (
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
)

// progress returns a function that draws a progress bar on standard error
// when it is a terminal, and nothing otherwise (scripts and CI). It is safe
// to call from several goroutines.
func (a *app) progress(what string) func(done, total int) {
	f, ok := a.env.Stderr.(*os.File)
	if !ok || a.env.IsTerminal == nil || !a.env.IsTerminal() {
		return func(int, int) {}
	}
	var (
		mu        sync.Mutex
		bar       *progressbar.ProgressBar
		lastTotal int
		lastDone  int
	)
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		// A new phase (another total, or counting from the start again)
		// gets a new bar.
		if bar != nil && (total != lastTotal || done < lastDone) {
			_ = bar.Finish()
			bar = nil
		}
		lastTotal, lastDone = total, done
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(what),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(done)
		if done == total {
			_ = bar.Finish()
		}
	}
}
