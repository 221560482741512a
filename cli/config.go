package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/pflag"
)

// configFile is the default name of kith run's configuration, in the home
// directory.
const configFile = "config.toml"

// runConfig is kith run's configuration file: the daemon's flags, by the
// same names with - written _. A flag given on the command line overrides
// the file. Keys are stable.
type runConfig struct {
	Listen    []string `toml:"listen"`
	Bootstrap []string `toml:"bootstrap"`
	API       *string  `toml:"api"`
	NoMDNS    *bool    `toml:"no_mdns"`
	LogFormat *string  `toml:"log_format"`
	Debug     *bool    `toml:"debug"`
	// MemoryLimit is --memory-limit.
	MemoryLimit *string `toml:"memory_limit"`
}

// loadRunConfig reads and strictly decodes a configuration file: an unknown
// key or a value of the wrong type is a usage error naming it and its line.
func loadRunConfig(path string) (runConfig, error) {
	var c runConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("--config: %w", err)
	}
	dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var se *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &se) && len(se.Errors) > 0:
			line, _ := se.Errors[0].Position()
			return c, usagef("%s:%d: unknown key %q (known: listen, bootstrap, api, no_mdns, log_format, debug, memory_limit)",
				path, line, strings.Join(se.Errors[0].Key(), "."))
		case errors.As(err, &de):
			line, _ := de.Position()
			return c, usagef("%s:%d: %s", path, line, strings.TrimPrefix(de.Error(), "toml: "))
		}
		return c, usagef("%s: %v", path, err)
	}
	return c, nil
}

// apply sets the options the command line left alone from the file.
func (c runConfig) apply(flags *pflag.FlagSet, o *daemonOptions) {
	set := func(name string) bool { return !flags.Changed(name) }
	if c.Listen != nil && set("listen") {
		o.listen = c.Listen
	}
	if c.Bootstrap != nil && set("bootstrap") {
		o.bootstrap = c.Bootstrap
	}
	if c.API != nil && set("api") {
		o.api = *c.API
	}
	if c.NoMDNS != nil && set("no-mdns") {
		o.noMDNS = *c.NoMDNS
	}
	if c.LogFormat != nil && set("log-format") {
		o.logFormat = *c.LogFormat
	}
	if c.Debug != nil && set("debug") {
		o.debug = *c.Debug
	}
	if c.MemoryLimit != nil && set("memory-limit") {
		o.memoryLimit = *c.MemoryLimit
	}
}
