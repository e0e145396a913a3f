// Package config holds `qc config`: what qc connects to and as whom.
package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// Options are the inputs of `qc config`.
type Options struct {
	IO             *cmdutil.IOStreams
	NetworkProfile func() (*fabconn.Profile, *fabconn.OrgProfile, error)
	StateDir       func() (string, error)
	Output         cmdutil.OutputFlags
}

// Config is what `qc config` reports.
type Config struct {
	StateDir     string `json:"state_dir"`
	Profile      string `json:"profile"`
	MSPID        string `json:"msp_id"`
	PeerEndpoint string `json:"peer_endpoint"`
	PeerHostname string `json:"peer_hostname"`
	Channel      string `json:"channel"`
	Chaincode    string `json:"chaincode"`
	Identity     string `json:"identity"`        // the client certificate's subject
	Issuer       string `json:"identity_issuer"` // its issuing CA
	Certificate  string `json:"certificate"`     // path of the certificate
}

// NewCmdConfig returns `qc config`.
func NewCmdConfig(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, NetworkProfile: f.NetworkProfile,
		StateDir: func() (string, error) { return cmdutil.ResolveStateDir(f.StateDir) }}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show which peer, channel and identity qc uses",
		Long: `Show what qc reads and as whom: the state directory holding the network's
connection profile, the organisation (--profile), its peer, the channel and
chaincode, and the client certificate qc signs its queries with. Nothing is
sent to the network.`,
		Example: "  qc config\n  qc --profile bank config --json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return configRun(opts)
		},
	}
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func configRun(opts *Options) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	dir, err := opts.StateDir()
	if err != nil {
		return err
	}
	prof, org, err := opts.NetworkProfile()
	if err != nil {
		return err
	}
	c := Config{StateDir: dir, Profile: org.Name, MSPID: org.MSPID, PeerEndpoint: org.PeerEndpoint,
		PeerHostname: org.PeerHostname, Channel: prof.Channel, Chaincode: prof.Chaincode}
	user, ok := org.Users["User1"]
	if !ok {
		return fmt.Errorf("the profile of %s has no client identity (User1)", org.MSPID)
	}
	c.Certificate = user.Cert
	if !filepath.IsAbs(c.Certificate) {
		c.Certificate = filepath.Join(dir, c.Certificate)
	}
	if c.Identity, c.Issuer, err = subject(c.Certificate); err != nil {
		return err
	}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(opts.IO.Out, c)
	}
	t := cmdutil.NewTable(opts.IO.Out)
	t.Row("state directory", c.StateDir)
	t.Row("profile", c.Profile)
	t.Row("MSP", c.MSPID)
	t.Row("peer", c.PeerEndpoint+" ("+c.PeerHostname+")")
	t.Row("channel", c.Channel)
	t.Row("chaincode", c.Chaincode)
	t.Row("identity", c.Identity)
	t.Row("issued by", c.Issuer)
	t.Row("certificate", c.Certificate)
	return t.Flush()
}

func subject(path string) (string, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("client certificate: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "", "", fmt.Errorf("client certificate %s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "", "", fmt.Errorf("client certificate %s: %w", path, err)
	}
	return cert.Subject.String(), cert.Issuer.String(), nil
}
