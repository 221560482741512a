package badger

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// logger routes badger's log into a slog.Logger: errors at Error, warnings
// at Warn, and badger's chatty info and debug messages at Debug. Errors
// that say a write failed (badger retries a memtable flush every second,
// without end, and logs each try) go to failed, which records the failure
// and logs it once.
type logger struct {
	l      *slog.Logger
	failed func(msg string) (first bool)
}

func (g logger) Errorf(f string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(f, args...))
	if g.failed != nil && isWriteFailure(msg) {
		if !g.failed(msg) {
			g.log(slog.LevelDebug, msg)
			return
		}
	}
	g.log(slog.LevelError, msg)
}
func (g logger) Warningf(f string, args ...any) { g.logf(slog.LevelWarn, f, args) }
func (g logger) Infof(f string, args ...any)    { g.logf(slog.LevelDebug, f, args) }
func (g logger) Debugf(f string, args ...any)   { g.logf(slog.LevelDebug, f, args) }

// isWriteFailure reports whether a badger error message says that data
// could not be written (badger v4.9.6's messages).
func isWriteFailure(msg string) bool {
	for _, s := range []string{"flushing memtable", "flush memtable", "writeRequests"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (g logger) logf(level slog.Level, f string, args []any) {
	if !g.l.Enabled(context.Background(), level) {
		return
	}
	g.log(level, strings.TrimSpace(fmt.Sprintf(f, args...)))
}

func (g logger) log(level slog.Level, msg string) {
	ctx := context.Background()
	if !g.l.Enabled(ctx, level) {
		return
	}
	g.l.Log(ctx, level, msg, "component", "badger")
}
