package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/httpapi"
	"github.com/quanchain/quanchain/gateway/internal/identity"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
)

// citizenEventsKept is how many citizens' events the operator's gateway
// keeps for streams that resume after a break.
const citizenEventsKept = 4096

// exchangeParts are the data-exchange and citizen parts of the API that the
// gateway's roles call for, with what must run beside them.
type exchangeParts struct {
	citizen       *httpapi.CitizenAPI
	citizenFeed   *notify.Feed // the provider's: the citizens' event streams
	provider      *exchange.Provider
	peerMSP       func(*http.Request) (string, error) // the provider's: the calling member gateway
	dataRequests  *exchange.Requester
	verifications *httpapi.VerificationAPI
	pseudonyms    httpapi.RequesterPseudonymiser // the requester's: the operator's pseudonym service
	tickets       *peerlink.PresentTickets       // the requester's: the operator's consent-link tickets
	peerTLS       *tls.Config                    // the provider's mutual-TLS listener
	ready         []httpapi.ReadyCheck           // the requester's: the operator's gateway answers
}

// buildExchange wires the exchange for cfg's roles: the provider gets the
// citizen API and the provider API (mutual TLS with the members' Fabric TLS
// identities); a requester gets data requests and verifications, its
// data-encryption key (registered on the ledger when it changed) and the
// operator's pseudonym service.
func buildExchange(ctx context.Context, cfg *config.Config, channel, msp string, st *store.Store,
	l *ledger.Ledger, operator *vault.Pseudonymiser, log *slog.Logger) (*exchangeParts, error) {
	link, err := peerlink.Load(cfg.StateDir, cfg.Org)
	if err != nil {
		return nil, fmt.Errorf("gateway TLS identity: %w", err)
	}
	x := &exchangeParts{}
	v := vault.New(st)
	xlog := httpapi.WithRequestIDs(log)
	if cfg.HasRole(config.RoleProvider) {
		citizens := notify.NewBroker(0, citizenEventsKept)
		// Events carry no citizenRef: the feed reads each authorisation
		// and finds its citizen (the stream's key is the vault ref) from
		// the pairwise ref the requester was given.
		owner := func(ctx context.Context, id string) (string, error) {
			a, err := l.GetAuthorization(ctx, id)
			if err != nil {
				return "", err
			}
			return st.VaultRefFor(ctx, a.Requester, a.CitizenRef)
		}
		var refFor func(requester, ref string) string
		if operator != nil {
			refFor = operator.PairwiseRef
		}
		x.citizenFeed = &notify.Feed{Source: l, Broker: citizens, Filter: notify.CitizenEvents(owner), Log: log}
		cc := httpapi.CitizenConfig{Ledger: l, Store: st, Channel: channel, Events: citizens, RefFor: refFor,
			LoginsPerMinute: cfg.LoginPerMinute, CitizenStarts: cfg.LoginStartsPerCitizen,
			SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), AllowUnverifiedKeys: cfg.AllowUnverifiedKeys}
		if cfg.OIDCIssuer != "" {
			rp, err := newRelyingParty(cfg)
			if err != nil {
				return nil, err
			}
			cc.Login = rp
			x.ready = append(x.ready, httpapi.ReadyCheck{Name: "the identity provider", Code: httpapi.CodeLoginUnavailable, Check: rp.Ready})
		}
		if cfg.WebAuthnRPID != "" {
			if cc.Passkeys, err = identity.NewPasskeys(cfg.WebAuthnRPID, "quanchain", cfg.WebAuthnOrigins); err != nil {
				return nil, err
			}
		}
		if x.citizen, err = httpapi.NewCitizenAPI(cc); err != nil {
			return nil, err
		}
		signer, err := loadSigner(filepath.Join(cfg.DataDir, deliveryKeyFile))
		if err != nil {
			return nil, err
		}
		if x.provider, err = exchange.NewProvider(exchange.ProviderConfig{Ledger: l, Store: st, Builder: v, Log: xlog,
			Signer: signer, MSPID: msp}); err != nil {
			return nil, err
		}
		x.peerMSP = link.RequestMSP
		x.peerTLS = link.ServerConfig()
	}
	if cfg.HasRole(config.RoleRequester) {
		key, err := envelope.LoadOrCreateKey(filepath.Join(cfg.DataDir, "encryption-key.pem"))
		if err != nil {
			return nil, err
		}
		if _, err := envelope.RegisterKey(ctx, l, msp, key); err != nil {
			return nil, fmt.Errorf("register the data-encryption key: %w", err)
		}
		var pc exchange.ProviderClient
		var providerKeys exchange.ProviderKeys
		remote := &peerlink.RemotePseudonymiser{BaseURL: cfg.OperatorURL}
		if cfg.OperatorURL != "" {
			// The operator is the organisation the ledger names; its
			// gateway must present that organisation's TLS identity.
			conf, err := l.GetConfig(ctx)
			if err != nil {
				return nil, fmt.Errorf("read the operator from the ledger: %w", err)
			}
			// Each client gets a TLS configuration of its own: none may
			// see another's protocol negotiation.
			provCfg, err := link.ClientConfig(conf.OperatorMSP)
			if err != nil {
				return nil, err
			}
			hpc, err := peerlink.NewProviderClient(cfg.OperatorURL, provCfg)
			if err != nil {
				return nil, err
			}
			hpc.RequestID = httpapi.RequestIDFrom
			pseudoCfg, err := link.ClientConfig(conf.OperatorMSP)
			if err != nil {
				return nil, err
			}
			if remote, err = peerlink.NewRemotePseudonymiser(cfg.OperatorURL, pseudoCfg); err != nil {
				return nil, err
			}
			ticketCfg, err := link.ClientConfig(conf.OperatorMSP)
			if err != nil {
				return nil, err
			}
			if x.tickets, err = peerlink.NewPresentTickets(cfg.OperatorURL, ticketCfg); err != nil {
				return nil, err
			}
			pc, providerKeys = hpc, hpc
			x.ready = append(x.ready,
				httpapi.ReadyCheck{Name: "this gateway's data-encryption key on the ledger", Code: httpapi.CodeEncryptionKeyNotRegistered,
					Check: func(ctx context.Context) error { return envelope.CheckRegistered(ctx, l, msp, key) }},
				httpapi.ReadyCheck{Name: "the operator's provider API", Code: httpapi.CodeProviderUnavailable, Check: hpc.Ping},
				httpapi.ReadyCheck{Name: "the operator's pseudonym service", Code: httpapi.CodePseudonymUnavailable, Check: remote.Ping})
		}
		x.pseudonyms = remote
		if x.dataRequests, err = exchange.NewRequester(exchange.RequesterConfig{MSPID: msp, Ledger: l, Provider: pc, Key: key, Log: xlog,
			ProviderKeys: providerKeys}); err != nil {
			return nil, err
		}
		if x.verifications, err = httpapi.NewVerificationAPI(httpapi.VerificationConfig{Ledger: l}); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// newRelyingParty is the citizen login's OpenID Connect relying party;
// discovery waits for its first use, so the identity provider may start
// after the gateway (/readyz says when it answers).
func newRelyingParty(cfg *config.Config) (*identity.RP, error) {
	secret := ""
	if cfg.OIDCClientSecretFile != "" {
		b, err := os.ReadFile(cfg.OIDCClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("oidc client secret: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	return identity.NewRP(identity.RPConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: secret,
		RedirectURL: cfg.OIDCRedirectURL, IDClaim: cfg.OIDCIDClaim, ACRValues: cfg.OIDCACR,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}})
}

// servePeer runs the provider's mutual-TLS listener for other gateways
// until ctx ends.
func servePeer(ctx context.Context, cfg *config.Config, tlsCfg *tls.Config, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.PeerListen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.PeerListen, err)
	}
	srv := &http.Server{Handler: h, TLSConfig: tlsCfg, ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("peer listener (mutual TLS)", slog.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve peers: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
