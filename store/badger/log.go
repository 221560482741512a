package badger

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// logger routes badger's log into a slog.Logger: errors at Error, warnings
// at Warn, and badger's chatty info and debug messages at Debug.
type logger struct{ l *slog.Logger }

func (g logger) Errorf(f string, args ...any)   { g.log(slog.LevelError, f, args) }
func (g logger) Warningf(f string, args ...any) { g.log(slog.LevelWarn, f, args) }
func (g logger) Infof(f string, args ...any)    { g.log(slog.LevelDebug, f, args) }
func (g logger) Debugf(f string, args ...any)   { g.log(slog.LevelDebug, f, args) }

func (g logger) log(level slog.Level, f string, args []any) {
	ctx := context.Background()
	if !g.l.Enabled(ctx, level) {
		return
	}
	g.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(f, args...)), "component", "badger")
}
