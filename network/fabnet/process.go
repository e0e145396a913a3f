package fabnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Timeouts of process supervision.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 15 * time.Second
)

// proc is one supervised daemon.
type proc struct {
	Name string   // process name: logs/<Name>.log, run/<Name>.pid
	Kind Kind     // orderer, peer, chaincode, idp or gateway
	Bin  string   // absolute path of the executable
	Args []string // arguments
	Env  []string // the complete environment
	Dir  string   // working directory
	// Endpoint is the main address shown by status.
	Endpoint string
	// Health returns nil once the process serves.
	Health func(ctx context.Context) error
}

// pid returns the recorded pid of p if that process is alive and still
// runs p's executable (or the same program of an earlier Fabric build in
// the cache, see stale), or 0.
func (l Layout) pid(p proc) int {
	pid, argv0 := l.recorded(p)
	if pid == 0 {
		return 0
	}
	// Guard against pid reuse: the process must run our executable.
	if argv0 != p.Bin && !sameProgram(argv0, p.Bin) {
		return 0
	}
	return pid
}

// recorded returns the recorded pid of p and its executable, if that
// process is alive.
func (l Layout) recorded(p proc) (int, string) {
	b, err := os.ReadFile(l.PidFile(p.Name))
	if err != nil {
		return 0, ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !alive(pid) {
		return 0, ""
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, ""
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return pid, string(argv0)
}

// sameProgram reports whether a and b are the same Fabric program of two
// builds in one cache: <cache>/fabric-<build>/bin/<program>.
func sameProgram(a, b string) bool {
	cache := func(p string) string { return filepath.Dir(filepath.Dir(filepath.Dir(p))) }
	build := filepath.Base(filepath.Dir(filepath.Dir(a)))
	return filepath.Base(a) == filepath.Base(b) && cache(a) == cache(b) && strings.HasPrefix(build, "fabric-")
}

// stale reports whether p runs, but from an earlier build than p.Bin.
func (l Layout) stale(p proc) bool {
	pid, argv0 := l.recorded(p)
	return pid != 0 && argv0 != p.Bin && sameProgram(argv0, p.Bin)
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// start launches p in its own process group (so it outlives the caller and
// ignores the terminal's Ctrl-C), with a clean environment, its output
// appended to its log and its pid recorded; then it waits for p.Health.
// If the process is already running it is left alone.
func (l Layout) start(ctx context.Context, p proc) (started bool, err error) {
	if l.stale(p) {
		// A new Fabric build (a patch changed): restart on it.
		if _, err := l.stop(p); err != nil {
			return false, err
		}
	}
	if pid := l.pid(p); pid != 0 {
		return false, l.waitHealthy(ctx, p, nil)
	}
	for _, d := range []string{filepath.Dir(l.LogFile(p.Name)), l.RunDir(), p.Dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return false, fmt.Errorf("start %s: %w", p.Name, err)
		}
	}
	logf, err := os.OpenFile(l.LogFile(p.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, fmt.Errorf("start %s: open log: %w", p.Name, err)
	}
	fmt.Fprintf(logf, "\n===== %s: starting %s %s =====\n", time.Now().Format(time.RFC3339), p.Bin, strings.Join(p.Args, " "))
	cmd := exec.Command(p.Bin, p.Args...)
	cmd.Env, cmd.Dir = p.Env, p.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return false, fmt.Errorf("start %s: %w", p.Name, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the child if it dies while we run
	if err := writeFileAtomic(l.PidFile(p.Name), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return false, fmt.Errorf("start %s: %w", p.Name, err)
	}
	if err := l.waitHealthy(ctx, p, exited); err != nil {
		// Leave nothing half-started behind: the next `up` starts it afresh.
		if _, serr := l.stop(p); serr != nil {
			err = errors.Join(err, serr)
		}
		return true, err
	}
	return true, nil
}

// waitHealthy polls p.Health until it succeeds, the process exits or the
// start timeout passes; failures name the process and show its log's tail.
func (l Layout) waitHealthy(ctx context.Context, p proc, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var last error
	for {
		hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
		last = p.Health(hctx)
		hcancel()
		if last == nil {
			return nil
		}
		select {
		case werr := <-exited:
			if werr == nil {
				werr = errors.New("exit status 0")
			}
			return fmt.Errorf("%s exited during start-up (%w); last lines of %s:\n%s",
				p.Name, werr, l.LogFile(p.Name), tailFile(l.LogFile(p.Name), 20))
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %s (%w); last lines of %s:\n%s",
				p.Name, startTimeout, last, l.LogFile(p.Name), tailFile(l.LogFile(p.Name), 20))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to p's process group, waits up to stopTimeout, then
// sends SIGKILL; it removes the pid file. Stopping a stopped process is a
// no-op.
func (l Layout) stop(p proc) (stopped bool, err error) {
	pid := l.pid(p)
	if pid == 0 {
		_ = os.Remove(l.PidFile(p.Name))
		return false, nil
	}
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("stop %s (pid %d): %w", p.Name, pid, err)
	}
	deadline := time.Now().Add(stopTimeout)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(pid) {
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return false, fmt.Errorf("kill %s (pid %d): %w", p.Name, pid, err)
		}
		for i := 0; i < 50 && alive(pid); i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := os.Remove(l.PidFile(p.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return true, fmt.Errorf("remove pid file of %s: %w", p.Name, err)
	}
	return true, nil
}

// Kill sends sig to the process group of the named process (for example
// "orderer0.orderer") without waiting and without removing its pid file:
// a crash, as fault tests make one. `up` starts it again.
func Kill(l Layout, name string, sig syscall.Signal) error {
	for _, p := range l.allProcs(DefaultTopology()) {
		if p.Name != name {
			continue
		}
		pid := l.pid(p)
		if pid == 0 {
			return fmt.Errorf("kill %s: not running", name)
		}
		if err := syscall.Kill(-pid, sig); err != nil {
			return fmt.Errorf("kill %s (pid %d): %w", name, pid, err)
		}
		for i := 0; i < 100 && alive(pid) && sig == syscall.SIGKILL; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	}
	return fmt.Errorf("kill %s: no such process", name)
}
