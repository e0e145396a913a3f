package fabnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// osnadmin runs an osnadmin command against an orderer's admin endpoint
// with the orderer organisation admin's TLS client certificate and returns
// the HTTP status and body.
func (l Layout) osnadmin(ctx context.Context, o Node, args ...string) (int, string, error) {
	tlsDir := filepath.Join(l.UserDir(o.Org, "Admin"), "tls")
	args = append(args, "-o", o.AdminAddress(), "--ca-file", l.TLSCA(o.Org),
		"--client-cert", filepath.Join(tlsDir, "client.crt"), "--client-key", filepath.Join(tlsDir, "client.key"))
	cmd := exec.CommandContext(ctx, l.Bin("osnadmin"), args...)
	cmd.Env = baseEnv()
	out, err := cmd.CombinedOutput()
	status, body, ok := strings.Cut(string(out), "\n")
	code, cerr := strconv.Atoi(strings.TrimPrefix(status, "Status: "))
	if !ok || cerr != nil {
		if err == nil {
			err = errors.New("unexpected output")
		}
		return 0, "", fmt.Errorf("osnadmin %s on %s: %w: %s", args[1], o.Name(), err, bytes.TrimSpace(out))
	}
	return code, body, nil
}

// joinOrderer joins an orderer to the channel with the genesis block unless
// it already is a member.
func (l Layout) joinOrderer(ctx context.Context, o Node) (bool, error) {
	code, body, err := l.osnadmin(ctx, o, "channel", "list", "--channelID", ChannelName)
	if err != nil {
		return false, err
	}
	if code == 200 {
		return false, nil
	}
	if code != 404 {
		return false, fmt.Errorf("osnadmin channel list on %s: status %d: %s", o.Name(), code, strings.TrimSpace(body))
	}
	code, body, err = l.osnadmin(ctx, o, "channel", "join", "--channelID", ChannelName, "--config-block", l.GenesisBlock())
	if err != nil {
		return false, err
	}
	if code != 201 {
		return false, fmt.Errorf("osnadmin channel join on %s: status %d: %s", o.Name(), code, strings.TrimSpace(body))
	}
	return true, nil
}

// isLeaderMetric matches the Raft leader gauge of our channel.
var isLeaderMetric = regexp.MustCompile(`(?m)^consensus_etcdraft_is_leader\{channel="` + ChannelName + `"\} 1$`)

// waitRaftLeader waits until one orderer reports that it leads the
// channel's Raft cluster: the first transaction fails without a leader.
func (l Layout) waitRaftLeader(ctx context.Context, t Topology) (Node, error) {
	var leader Node
	err := poll(ctx, "a Raft leader on channel "+ChannelName, 60*time.Second, 250*time.Millisecond, func() error {
		for _, o := range t.Orderers {
			body, err := l.opsGet(ctx, o, "/metrics")
			if err == nil && isLeaderMetric.MatchString(body) {
				leader = o
				return nil
			}
		}
		return fmt.Errorf("no orderer reports consensus_etcdraft_is_leader=1")
	})
	if err != nil {
		return leader, fmt.Errorf("%w\n%s", err, ordererAdvice)
	}
	return leader, nil
}

// peerEnv is the clean environment of a peer CLI command run as the
// organisation's admin against its peer.
func (l Layout) peerEnv(p Node) []string {
	return baseEnv(
		"FABRIC_CFG_PATH="+l.ConfigDir(p.Name()),
		"FABRIC_LOGGING_SPEC=warning",
		"CORE_PEER_LOCALMSPID="+p.Org.MSPID,
		"CORE_PEER_MSPCONFIGPATH="+filepath.Join(l.UserDir(p.Org, "Admin"), "msp"),
		"CORE_PEER_ADDRESS="+p.Address(),
		"CORE_PEER_TLS_ENABLED=true",
		"CORE_PEER_TLS_ROOTCERT_FILE="+l.TLSCA(p.Org),
	)
}

// peerCLI runs the peer command as p's organisation admin and returns its
// standard output.
func (l Layout) peerCLI(ctx context.Context, p Node, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, l.Bin("peer"), args...)
	cmd.Env = l.peerEnv(p)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("peer %s (%s): %w: %s", strings.Join(args[:min(3, len(args))], " "),
			p.Org.MSPID, err, tail(strings.TrimSpace(stderr.String()+"\n"+stdout.String()), 10))
	}
	return stdout.String(), nil
}

// ordererArgs are the flags that point a peer CLI command at an orderer.
func (l Layout) ordererArgs(o Node) []string {
	return []string{"-o", o.Address(), "--tls", "--cafile", l.TLSCA(o.Org)}
}

// joinPeer joins a peer to the channel unless it already is a member.
func (l Layout) joinPeer(ctx context.Context, p Node) (bool, error) {
	out, err := l.peerCLI(ctx, p, "channel", "list")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == ChannelName {
			return false, nil
		}
	}
	if _, err := l.peerCLI(ctx, p, "channel", "join", "-b", l.GenesisBlock()); err != nil {
		return false, err
	}
	return true, nil
}
