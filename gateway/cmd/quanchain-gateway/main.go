// Command quanchain-gateway is the HTTP gateway a quanchain member
// organisation runs with its own Fabric identity and role(s). Settings come
// from flags and QC_… environment variables; see --help.
package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/consentapp"
	"github.com/quanchain/quanchain/gateway/internal/httpapi"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/present"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "quanchain-gateway:", err)
		os.Exit(1)
	}
}

// run loads the configuration, connects to the ledger and the store, and
// serves the API until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args, env []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "setup" {
		return runSetup(ctx, args[1:], env, stdout)
	}
	cfg, err := config.Load(args, env, stdout)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))

	keys, err := loadKeys(cfg)
	if err != nil {
		return err
	}
	tokens := auth.NewTokens(keys, cfg.Issuer, cfg.Audience, cfg.TokenTTL, nil,
		auth.WithCitizenSessions(auth.CitizenSessions{Idle: cfg.CitizenSessionIdle, Max: cfg.CitizenSessionMax}))

	connectCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := fabconn.Connect(connectCtx, cfg.StateDir, cfg.Org, fabconn.WithKeepAlive(cfg.LedgerKeepAlive))
	cancel()
	if err != nil {
		return fmt.Errorf("connect to the ledger: %w", err)
	}
	defer conn.Close()

	st, err := store.Open(ctx, cfg.StoreDSN)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()
	st.SetMaxConns(cfg.StoreMaxConns)
	// A request cut off by a crash holds its Idempotency-Key until no
	// handler can still be running it: the request timeout, and a margin.
	st.SetPendingTimeout(cfg.RequestTimeout + 5*time.Second)
	references, err := referenceKey(cfg)
	if err != nil {
		return err
	}

	operator, err := operatorPseudonymiser(cfg)
	if err != nil {
		return err
	}
	l := ledger.FromConnection(conn)
	notifications, stopNotifications, err := startNotifications(ctx, cfg, st, l, conn.Org.MSPID, log)
	if err != nil {
		return err
	}
	defer stopNotifications() // before the store closes
	admin, err := adminAPI(cfg, st, l, operator)
	if err != nil {
		return err
	}
	x, err := buildExchange(ctx, cfg, conn.Channel, conn.Org.MSPID, st, l, operator, log)
	if err != nil {
		return err
	}
	artefacts, err := artefactAPI(cfg, l, conn, conn.Channel)
	if err != nil {
		return err
	}
	// The operator's gateway names citizens by their vault refs and issues
	// the pairwise refs (its own too, when it also plays the requester);
	// any other requester asks the operator's pseudonym service.
	citizenRefs := x.pseudonyms
	if operator != nil {
		citizenRefs = nil
	}
	tickets, links, err := consentLinks(cfg, operator, x.tickets, st)
	if err != nil {
		return err
	}
	api, err := httpapi.New(httpapi.Deps{
		Config: cfg, MSPID: conn.Org.MSPID, Ledger: l, Tokens: tokens,
		Clients: storeAdapter{st}, Idempotency: storeAdapter{st}, Pseudonyms: operator, CitizenRefs: citizenRefs,
		PseudonymLog: st, Log: log,
		Notify: notifications, Admin: admin, DeliveryLog: st,
		Citizen: x.citizen, Provider: x.provider, PeerMSP: x.peerMSP, DataRequests: x.dataRequests, Verifications: x.verifications,
		References:   references,
		Artefacts:    artefacts,
		Present:      tickets,
		ConsentLinks: links,
		App:          consentapp.Handler(), // routed on the provider role only
		ReadyChecks:  append([]httpapi.ReadyCheck{{Name: "the store", Code: httpapi.CodeStoreUnavailable, Check: st.Ping}}, x.ready...),
	})
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 3)
	running := 1 // the idempotency purge, on every gateway
	go func() { errc <- purgeIdempotencyKeys(ctx, st, cfg.IdempotencyTTL, log) }()
	if x.citizenFeed != nil {
		running++
		go func() { errc <- ignoreCanceled(x.citizenFeed.Run(ctx)) }()
	}
	if x.peerTLS != nil && cfg.PeerListen != "" {
		running++
		go func() { errc <- servePeer(ctx, cfg, x.peerTLS, api.PeerHandler(), log) }()
	}
	err = serve(ctx, cfg, api, log)
	stop()
	for ; running > 0; running-- {
		err = errors.Join(err, <-errc)
	}
	return err
}

// ignoreCanceled treats the end of a background loop at shutdown as success.
func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// loadKeys loads (or creates) the token signing key and the retired keys
// still accepted during a rotation.
func loadKeys(cfg *config.Config) (*auth.KeySet, error) {
	sk, err := auth.LoadOrCreateSigningKey(cfg.JWTKeyFile)
	if err != nil {
		return nil, err
	}
	var verify []*ecdsa.PublicKey
	for _, p := range cfg.JWTVerifyKeyFiles {
		k, err := auth.LoadPublicKey(p)
		if err != nil {
			return nil, err
		}
		verify = append(verify, k)
	}
	return auth.NewKeySet(sk, verify...)
}

// consentLinks wires the citizen-present flow: the operator signs and
// resolves tickets under a key derived from its pseudonym key; a requester
// with the operator's app URL makes links, asking the operator's gateway
// for their tickets over mutual TLS, or, on the operator's own gateway,
// signs them itself.
func consentLinks(cfg *config.Config, operator *vault.Pseudonymiser, remote *peerlink.PresentTickets, st *store.Store) (*present.Signer, *httpapi.ConsentLinks, error) {
	var signer *present.Signer
	if operator != nil {
		var err error
		if signer, err = present.NewSigner(operator.DeriveKey(present.KeyPurpose), nil); err != nil {
			return nil, nil, err
		}
	}
	if !cfg.HasRole(config.RoleRequester) || cfg.OperatorAppURL == "" || (remote == nil && signer == nil) {
		return signer, nil, nil
	}
	links := &httpapi.ConsentLinks{AppURL: cfg.OperatorAppURL, Clients: storeAdapter{st}}
	if remote != nil {
		links.Tickets = remote
	} // else the operator signs its own in process (httpapi.New)
	return signer, links, nil
}

// operatorPseudonymiser loads the operator's pseudonym key, if this
// gateway holds it; other gateways ask the operator's (buildExchange).
func operatorPseudonymiser(cfg *config.Config) (*vault.Pseudonymiser, error) {
	if cfg.PseudonymKeyFile == "" {
		return nil, nil
	}
	return vault.LoadPseudonymiser(cfg.PseudonymKeyFile)
}

// serve runs the HTTP server until ctx ends, then drains it within the
// shutdown timeout.
func serve(ctx context.Context, cfg *config.Config, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("gateway listening", slog.String("addr", ln.Addr().String()), slog.String("org", cfg.Org),
		slog.Any("roles", cfg.Roles))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
