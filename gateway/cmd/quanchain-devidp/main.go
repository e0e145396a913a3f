// Command quanchain-devidp is the development OpenID provider: a stand-in
// for the government's real-name identity provider (统一身份认证) that the
// operator's gateway logs citizens in with, on a developer's machine and
// on the local network (`make up` starts it). See package
// gateway/internal/devidp/provider.
//
//	quanchain-devidp [flags]                  serve on loopback until interrupted
//	quanchain-devidp jwks --state-dir DIR     print the public JWKS (for registration on the ledger)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/devidp"
	"github.com/quanchain/quanchain/gateway/internal/devidp/provider"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "quanchain-devidp:", err)
		os.Exit(1)
	}
}

// run serves the provider, or runs the jwks command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "jwks" {
		return runJWKS(args[1:], stdout, stderr)
	}
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, opts, stdout)
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// options are the command's flags.
type options struct {
	Listen, Issuer, StateDir, CodesDir   string
	Registers                            listFlag
	ClientID, ClientSecretFile           string
	RedirectURIs, PostLogoutRedirectURIs listFlag
	IDNumberClaim, ACR                   string
	CodeTTL                              time.Duration
	LoginsPerMinute, Starts, Codes       int
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("quanchain-devidp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:7085", "loopback host:port to serve on")
	fs.StringVar(&o.Issuer, "issuer", "", "issuer URL, scheme://host:port (default http://<listen>)")
	fs.StringVar(&o.StateDir, "state-dir", "", "directory of the signing and subject keys (created 0700; required)")
	fs.StringVar(&o.CodesDir, "codes-dir", "", "where one-time codes are written, one 0600 file each (default <state-dir>/codes)")
	fs.Var(&o.Registers, "register-file", "real-name register, JSON Lines of id_number, name, phone (repeatable; the first that holds an ID number answers)")
	fs.StringVar(&o.ClientID, "client-id", "", "the relying party's client id (required)")
	fs.StringVar(&o.ClientSecretFile, "client-secret-file", "", "file holding the client secret, mode 0600 (required)")
	fs.Var(&o.RedirectURIs, "redirect-uri", "the relying party's redirect URI (repeatable; at least one)")
	fs.Var(&o.PostLogoutRedirectURIs, "post-logout-redirect-uri", "where end_session may return the browser (repeatable)")
	fs.StringVar(&o.IDNumberClaim, "id-number-claim", provider.DefaultIDNumberClaim, "ID token claim carrying the normalised ID number")
	fs.StringVar(&o.ACR, "acr", provider.DefaultACR, "acr value of the ID tokens")
	fs.DurationVar(&o.CodeTTL, "code-ttl", provider.DefaultCodeTTL, "how long a one-time code is valid")
	fs.IntVar(&o.LoginsPerMinute, "logins-per-minute", 5, "login and code attempts allowed per remote address in any minute")
	fs.IntVar(&o.Starts, "starts-per-citizen", 5, "logins allowed per citizen in any 15 minutes")
	fs.IntVar(&o.Codes, "codes-per-citizen", 5, "one-time code attempts allowed per citizen in any 15 minutes")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--listen %q: the development provider serves on a loopback address only", o.Listen)
	}
	if o.Issuer == "" {
		o.Issuer = "http://" + o.Listen
	}
	if o.StateDir == "" || o.ClientID == "" || o.ClientSecretFile == "" || len(o.RedirectURIs) == 0 {
		return nil, errors.New("--state-dir, --client-id, --client-secret-file and --redirect-uri are required")
	}
	if len(o.Registers) == 0 {
		return nil, errors.New("--register-file is required")
	}
	if o.CodesDir == "" {
		o.CodesDir = filepath.Join(o.StateDir, "codes")
	}
	return o, nil
}

// readSecret reads the client secret from a file only its owner can read.
func readSecret(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("client secret: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("client secret: %s is mode %v; make it 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("client secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// registers answers from the first register that holds an ID number.
type registers []*devidp.Register

// Lookup implements provider.Register.
func (rs registers) Lookup(ctx context.Context, idNumber string) (devidp.Entry, bool, error) {
	for _, r := range rs {
		e, ok, err := r.Lookup(ctx, idNumber)
		if err != nil || ok {
			return e, ok, err
		}
	}
	return devidp.Entry{}, false, nil
}

func serve(ctx context.Context, o *options, stdout io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	// The library logs through the default logger: refused requests, never
	// the login's fields (they are not part of an auth request).
	slog.SetDefault(log)
	keys, err := provider.LoadKeys(o.StateDir)
	if err != nil {
		return err
	}
	secret, err := readSecret(o.ClientSecretFile)
	if err != nil {
		return err
	}
	var regs registers
	for _, path := range o.Registers {
		regs = append(regs, devidp.OpenRegister(path))
	}
	p, err := provider.New(provider.Config{
		Issuer: o.Issuer, Keys: keys, Register: regs, Sender: devidp.NewCodeDir(o.CodesDir),
		Client: provider.Client{ID: o.ClientID, Secret: secret, RedirectURIs: o.RedirectURIs,
			PostLogoutRedirectURIs: o.PostLogoutRedirectURIs},
		IDNumberClaim: o.IDNumberClaim, ACR: o.ACR, CodeTTL: o.CodeTTL,
		LoginsPerMinute: o.LoginsPerMinute, StartsPerCitizen: o.Starts, CodesPerCitizen: o.Codes,
		Log: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Info("serving", slog.String("issuer", o.Issuer), slog.String("listen", ln.Addr().String()),
		slog.String("kid", keys.KeyID()), slog.String("codes_dir", o.CodesDir), slog.String("client_id", o.ClientID))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// runJWKS prints the public key set of the state directory's signing key,
// creating the key if the provider never ran: what the operator registers
// on the ledger, without a running provider.
func runJWKS(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quanchain-devidp jwks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("state-dir", "", "the provider's state directory (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		return errors.New("usage: quanchain-devidp jwks --state-dir DIR")
	}
	keys, err := provider.LoadKeys(*dir)
	if err != nil {
		return err
	}
	b, err := keys.JWKSJSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
