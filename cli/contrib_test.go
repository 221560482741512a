package cli_test

import (
	"encoding/xml"
	"os"
	"strings"
	"testing"
)

// TestContribServiceFiles: the systemd unit and the launchd agent start
// kith with a command line kith accepts, and the plist is well-formed XML.
func TestContribServiceFiles(t *testing.T) {
	unit, err := os.ReadFile("../contrib/systemd/kith.service")
	if err != nil {
		t.Fatal(err)
	}
	var systemdArgs []string
	for _, line := range strings.Split(string(unit), "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			systemdArgs = strings.Fields(rest)[1:]
		}
	}
	if len(systemdArgs) == 0 || systemdArgs[0] != "run" || !strings.Contains(string(unit), "WantedBy=default.target") {
		t.Fatalf("unit: ExecStart args %v", systemdArgs)
	}
	plist, err := os.ReadFile("../contrib/launchd/net.kith.kith.plist")
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(plist)))
	var launchdArgs []string
	inArgs := false
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("plist: %v", err)
			}
			break
		}
		switch v := tok.(type) {
		case xml.CharData:
			s := strings.TrimSpace(string(v))
			if s == "ProgramArguments" {
				inArgs = true
			} else if inArgs && s != "" {
				launchdArgs = append(launchdArgs, s)
			}
		case xml.EndElement:
			if v.Name.Local == "array" {
				inArgs = false
			}
		}
	}
	if len(launchdArgs) < 2 || launchdArgs[1] != "run" {
		t.Fatalf("plist ProgramArguments %v", launchdArgs)
	}
	// kith accepts both command lines (checked with --help, which parses
	// every flag and runs nothing).
	n := newNode(t, "svc")
	for _, args := range [][]string{systemdArgs, launchdArgs[1:]} {
		n.ok(append(args, "--help")...)
	}
}
