package graphsim

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestClusterScripts runs the shipped Slurm script and the Kubernetes
// Job's command, as the batch systems would (the index in
// SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX), with the kith-lab binary built
// from this tree: three shards as three processes, merged by the script's
// merge step, give the bytes of the run in one process.
func TestClusterScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kith-lab binary")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	kith := filepath.Join(dir, "kith-lab")
	build := exec.Command("go", "build", "-o", kith, "github.com/kith-net/kith/cmd/kith-lab")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "tiny.toml")
	if err := os.WriteFile(file, []byte(shardSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "sharded")
	run := func(name string, cmd *exec.Cmd) {
		t.Helper()
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
	}
	env := append(os.Environ(), "KITH="+kith, "SCENARIO="+file, "SHARDS=3", "OUT="+out)
	// Two Slurm tasks of an array counted from 1, at the same time.
	var cmds []*exec.Cmd
	var logs []*bytes.Buffer
	for _, task := range []string{"1", "2"} {
		c := exec.Command(bash, "../cluster/kith-sim.sbatch")
		c.Env = append(env, "SLURM_ARRAY_TASK_ID="+task, "SLURM_ARRAY_TASK_MIN=1", "SLURM_CPUS_PER_TASK=1")
		var b bytes.Buffer
		c.Stdout, c.Stderr = &b, &b
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, logs = append(cmds, c), append(logs, &b)
	}
	// The third shard as the Kubernetes Job runs it: its args with the
	// container's variables, the index from JOB_COMPLETION_INDEX.
	manifest, err := os.ReadFile("../cluster/kith-sim-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*args: (\[.*\])$`).FindSubmatch(manifest)
	if m == nil {
		t.Fatal("no args in the Job manifest")
	}
	var args []string
	if err := json.Unmarshal(m[1], &args); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		args[i] = strings.NewReplacer("$(SCENARIO)", file, "$(SHARDS)", "3", "$(OUT)", out).Replace(a)
	}
	k8s := exec.Command(kith, args...)
	k8s.Env = append(os.Environ(), "JOB_COMPLETION_INDEX=2")
	run("the Job's shard", k8s)
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("Slurm task %d: %v\n%s", i, err, logs[i])
		}
	}
	merge := exec.Command(bash, "../cluster/kith-sim.sbatch", "merge")
	merge.Env = env
	run("merge", merge)
	whole := filepath.Join(dir, "whole")
	run("one process", exec.Command(kith, "sim", "run", file, "--out", whole, "--no-plot"))
	for _, f := range []string{"results.csv", "results.json"} {
		x, err := os.ReadFile(filepath.Join(whole, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(out, "merged", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s: the run merged from three processes differs from the run in one", f)
		}
	}
}
