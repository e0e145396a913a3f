// Package config is the gateway's configuration: one struct, loaded once at
// start-up from command-line flags and QC_… environment variables (flags
// win), validated once, then passed down. Nothing below main reads the
// environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Role is what a gateway does for its organisation.
type Role string

// Gateway roles.
const (
	// RoleRequester serves a bank's or insurer's systems: the institution API.
	RoleRequester Role = "requester"
	// RoleProvider is the operator's role: citizen API, provider API, data
	// import and anchoring; it holds the pseudonym key.
	RoleProvider Role = "provider"
)

// Config is the whole configuration of one gateway process.
type Config struct {
	// Listen is the HTTP listen address (host:port).
	Listen string
	// Roles are the roles this gateway plays; at least one.
	Roles []Role
	// Org is the Fabric organisation, by MSP ID ("BankMSP") or short name
	// ("bank"), as named in the network profile.
	Org string
	// StateDir is the Fabric network's state directory, the one holding
	// network.json (the connection profile).
	StateDir string
	// DataDir is the gateway's own state directory (signing keys, SQLite);
	// default <StateDir>/gateway/<org>.
	DataDir string
	// StoreDSN is the store's data source name: a SQLite file path or
	// "sqlite:///PATH", or a "postgres://…" URL; default SQLite under DataDir.
	StoreDSN string
	// StoreMaxConns is how many connections the store keeps open to
	// PostgreSQL, busy or idle (store.SetMaxConns); SQLite uses one.
	StoreMaxConns int

	// JWTKeyFile is the ES256 signing key (PKCS#8 PEM), generated on first
	// start if absent; default <DataDir>/jwt-signing.pem.
	JWTKeyFile string
	// JWTVerifyKeyFiles are extra public keys (PEM) that tokens may still be
	// signed with, for key rotation: retired signing keys stay here until
	// their last token has expired.
	JWTVerifyKeyFiles []string
	// Issuer and Audience are the tokens' iss and aud.
	Issuer, Audience string
	// TokenTTL is the lifetime of issued tokens.
	TokenTTL time.Duration

	// PseudonymKeyFile is the secret citizenRef key (provider only).
	PseudonymKeyFile string
	// OperatorURL is the operator gateway's mutual-TLS base URL, where a
	// requester asks for pseudonyms and fetches authorised data.
	OperatorURL string
	// PublicURL is the base URL institutions reach this gateway at
	// (https://host[:port][/path]); a client assertion (private_key_jwt)
	// must name <PublicURL>/v1/oauth/token as its audience. Default in dev
	// mode: http://<Listen>; otherwise empty, and client assertions are
	// refused.
	PublicURL string
	// OperatorAppURL is the operator's consent app as citizens reach it
	// (https://host[:port]/app/), where a requester's consent links open
	// (requester). Default: <PublicURL>/app/ on a gateway that plays the
	// provider role too; otherwise empty, and no consent links are made.
	OperatorAppURL string
	// PeerListen is the provider's mutual-TLS listener for other member
	// gateways (deliveries, pseudonyms); empty serves none.
	PeerListen string
	// LoginPerMinute bounds citizen login, ticket and device registration
	// attempts together per remote address, in any minute.
	LoginPerMinute int
	// LoginStartsPerCitizen bounds the logins per citizen, in any 15
	// minutes, whatever address they come from.
	LoginStartsPerCitizen int
	// CitizenSessionIdle is how long a citizen session lasts without
	// activity (each token's lifetime, renewed while the app is used);
	// CitizenSessionMax how long it lasts in all, before a new login.
	CitizenSessionIdle, CitizenSessionMax time.Duration

	// OIDCIssuer is the identity provider citizens log in at (OpenID
	// Connect; the issuer the ledger's identity policy names), with the
	// gateway's client id, the file holding its client secret and its
	// redirect URL (default <PublicURL>/citizen/v1/oidc/callback).
	// OIDCIDClaim names the ID token claim with the resident ID number;
	// OIDCACR lists the accepted acr values. Provider role; without an
	// issuer citizens cannot log in.
	OIDCIssuer, OIDCClientID, OIDCClientSecretFile, OIDCRedirectURL, OIDCIDClaim string
	OIDCACR                                                                      []string
	// WebAuthnRPID is the passkeys' relying party id (the consent app's
	// host name) and WebAuthnOrigins the app's origins (default the
	// public URL's); AllowUnverifiedKeys lets plain WebCrypto keys be
	// registered (the ledger's identity policy must allow them too).
	WebAuthnRPID        string
	WebAuthnOrigins     []string
	AllowUnverifiedKeys bool
	// PseudonymLookupsPerMinute bounds the pseudonym service's lookups per
	// requesting institution (provider).
	PseudonymLookupsPerMinute int

	// BodyLimit is the largest request body accepted, in bytes.
	BodyLimit int64
	// ImportLimit is the largest dataset accepted by the admin import
	// (JSON Lines), in bytes; it replaces BodyLimit on that route.
	ImportLimit int64
	// ImportBatchSize is the number of records per Merkle batch of a
	// dataset import (1–65,536): larger batches mean fewer anchor
	// transactions, and more leaves to hash when a delivery proves a record.
	ImportBatchSize int
	// ImportAnchors is how many anchor transactions a dataset import keeps
	// in flight at once (1–64).
	ImportAnchors int
	// ImportWriters is how many batches a dataset import writes to a
	// PostgreSQL store at once (1–16); SQLite writes one at a time.
	ImportWriters int
	// ImportTimeout bounds a dataset import, its upload included (1 minute
	// to 24 hours). It replaces RequestTimeout on the import route, and
	// the HTTP server's read and write timeouts for that request.
	ImportTimeout time.Duration
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound the
	// HTTP server; RequestTimeout bounds one handler's work (ledger calls
	// included); ShutdownTimeout bounds the graceful shutdown.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	RequestTimeout, ShutdownTimeout                           time.Duration
	// LedgerKeepAlive is how long the gRPC connection to the peer may be
	// idle before the gateway pings the peer (fabconn.WithKeepAlive).
	LedgerKeepAlive time.Duration

	// IdempotencyTTL is how long an Idempotency-Key is kept: its retries
	// are replayed within it, and the key is deleted after it.
	IdempotencyTTL time.Duration

	// RateLimit is the sustained requests per second allowed per client
	// (API client id, or remote address before authentication); RateBurst
	// the burst above it.
	RateLimit float64
	RateBurst int

	// WebhookMaxAttempts is how many times a webhook delivery is tried
	// before it is parked (held, with its webhook's later events, until an
	// administrator retries it). WebhookBaseDelay is the wait after the
	// first failure; it doubles with every further failure up to
	// WebhookMaxDelay.
	WebhookMaxAttempts                int
	WebhookBaseDelay, WebhookMaxDelay time.Duration

	// Dev enables development conveniences (http:// URLs for the public
	// URL, the operator and the identity provider); never in production.
	Dev bool
}

// HasRole reports whether the gateway plays role r.
func (c *Config) HasRole(r Role) bool {
	for _, have := range c.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// Defaults returns the configuration used where nothing is set.
func Defaults() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		Roles:           []Role{RoleRequester},
		Issuer:          "quanchain-gateway",
		Audience:        "quanchain-api",
		TokenTTL:        5 * time.Minute,
		BodyLimit:       1 << 20,
		ImportLimit:     32 << 20,
		ImportBatchSize: 1024,
		ImportAnchors:   8,
		ImportWriters:   2,
		ImportTimeout:   30 * time.Minute,
		LoginPerMinute:  5,
		// Five logins per citizen in 15 minutes; sessions of
		// 30 minutes' inactivity, 12 hours in all.
		LoginStartsPerCitizen: 5,
		OIDCIDClaim:           "id_number",
		CitizenSessionIdle:    30 * time.Minute,
		CitizenSessionMax:     12 * time.Hour,
		ReadHeaderTimeout:     5 * time.Second,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           2 * time.Minute,
		LedgerKeepAlive:       time.Minute, // fabconn.DefaultKeepAlive
		RequestTimeout:        45 * time.Second,
		ShutdownTimeout:       20 * time.Second,
		IdempotencyTTL:        24 * time.Hour,
		StoreMaxConns:         20, // store.DefaultMaxConns
		RateLimit:             50,
		RateBurst:             100,
		// Ten a second, sustained, per bank or insurer: a busy lender's
		// applications, far below walking a region's ID numbers.
		PseudonymLookupsPerMinute: 600,
		// The webhook sender's own defaults (notify.Default…).
		WebhookMaxAttempts: 20,
		WebhookBaseDelay:   5 * time.Second,
		WebhookMaxDelay:    10 * time.Minute,
	}
}

// EnvPrefix prefixes every environment variable the gateway reads.
const EnvPrefix = "QC_"

// Load builds the configuration from env (KEY=VALUE pairs, as os.Environ
// gives them) and args (the command-line flags, without the program name),
// flags taking precedence, fills in derived defaults and validates it.
// Every flag --some-name has the variable QC_SOME_NAME. ErrHelp is returned
// as is when -h is given, with the usage written to usage.
func Load(args, env []string, usage io.Writer) (*Config, error) {
	c := Defaults()
	fs := flag.NewFlagSet("quanchain-gateway", flag.ContinueOnError)
	fs.SetOutput(usage)
	var roles, verify, acr, origins string
	fs.StringVar(&c.Listen, "listen", c.Listen, "HTTP listen address")
	fs.StringVar(&roles, "roles", "requester", "comma-separated roles: requester, provider")
	fs.StringVar(&c.Org, "org", "", "Fabric organisation (MSP ID or short name)")
	fs.StringVar(&c.StateDir, "state-dir", "", "Fabric network state directory (holds network.json)")
	fs.StringVar(&c.DataDir, "data-dir", "", "gateway state directory (default <state-dir>/gateway/<org>)")
	fs.StringVar(&c.StoreDSN, "store-dsn", "", "store DSN: SQLite path or postgres:// URL (default SQLite in data-dir)")
	fs.IntVar(&c.StoreMaxConns, "store-max-conns", c.StoreMaxConns, "connections kept open to PostgreSQL, busy or idle (SQLite uses one)")
	fs.StringVar(&c.JWTKeyFile, "jwt-key-file", "", "ES256 token signing key, PEM (generated if absent)")
	fs.StringVar(&verify, "jwt-verify-key-files", "", "comma-separated extra token verification public keys, PEM")
	fs.StringVar(&c.Issuer, "jwt-issuer", c.Issuer, "token issuer (iss)")
	fs.StringVar(&c.Audience, "jwt-audience", c.Audience, "token audience (aud)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", c.TokenTTL, "lifetime of issued tokens")
	fs.StringVar(&c.PseudonymKeyFile, "pseudonym-key-file", "", "citizenRef HMAC key file (provider)")
	fs.StringVar(&c.OperatorURL, "operator-url", "", "operator gateway mutual-TLS base URL: pseudonyms and data deliveries (requester)")
	fs.StringVar(&c.PublicURL, "public-url", "", "base URL institutions reach this gateway at; client assertions name <public-url>/v1/oauth/token (default http://<listen> in dev mode)")
	fs.StringVar(&c.OperatorAppURL, "operator-app-url", "", "the operator's consent app URL citizens open, such as https://quanchain.example/app/: consent links (requester; default <public-url>/app/ on a gateway that is also the provider)")
	fs.StringVar(&c.PeerListen, "peer-listen", "", "mutual-TLS listen address for other member gateways (provider)")
	fs.IntVar(&c.LoginPerMinute, "login-per-minute", c.LoginPerMinute, "citizen login, ticket and device registration attempts allowed per remote address in any minute (provider)")
	fs.IntVar(&c.LoginStartsPerCitizen, "login-starts-per-citizen", c.LoginStartsPerCitizen, "citizen logins allowed per citizen in any 15 minutes (provider)")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "OpenID Connect issuer citizens log in at (provider)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", "", "this gateway's client id at the identity provider (provider)")
	fs.StringVar(&c.OIDCClientSecretFile, "oidc-client-secret-file", "", "file holding the client secret at the identity provider (provider)")
	fs.StringVar(&c.OIDCRedirectURL, "oidc-redirect-url", "", "redirect URL registered at the identity provider (default <public-url>/citizen/v1/oidc/callback)")
	fs.StringVar(&c.OIDCIDClaim, "oidc-id-claim", c.OIDCIDClaim, "ID token claim holding the resident ID number (provider)")
	fs.StringVar(&acr, "oidc-acr", "", "comma-separated acr values accepted for a citizen login (provider)")
	fs.StringVar(&c.WebAuthnRPID, "webauthn-rp-id", "", "passkeys' relying party id: the consent app's host name (default the public URL's host)")
	fs.StringVar(&origins, "webauthn-origins", "", "comma-separated origins of the consent app passkeys are used from (default the public URL's origin)")
	fs.BoolVar(&c.AllowUnverifiedKeys, "allow-unverified-keys", false, "let plain WebCrypto device keys (no user verification) be registered (provider)")
	fs.DurationVar(&c.CitizenSessionIdle, "citizen-session-idle", c.CitizenSessionIdle, "a citizen session ends after this long without activity (provider)")
	fs.DurationVar(&c.CitizenSessionMax, "citizen-session-max", c.CitizenSessionMax, "a citizen session ends this long after its login, however active (provider)")
	fs.IntVar(&c.PseudonymLookupsPerMinute, "pseudonym-lookups-per-minute", c.PseudonymLookupsPerMinute, "pseudonym lookups allowed per requesting institution and minute (provider)")
	fs.Int64Var(&c.BodyLimit, "body-limit", c.BodyLimit, "largest request body in bytes")
	fs.Int64Var(&c.ImportLimit, "import-limit", c.ImportLimit, "largest dataset import body in bytes (provider admin API)")
	fs.IntVar(&c.ImportBatchSize, "import-batch-size", c.ImportBatchSize, "records per Merkle batch of a dataset import, 1–65536 (provider)")
	fs.IntVar(&c.ImportAnchors, "import-anchors", c.ImportAnchors, "anchor transactions a dataset import keeps in flight, 1–64 (provider)")
	fs.DurationVar(&c.ImportTimeout, "import-timeout", c.ImportTimeout, "how long a dataset import may take, its upload included, 1m–24h (provider; replaces the request, read and write timeouts for it)")
	fs.IntVar(&c.ImportWriters, "import-writers", c.ImportWriters, "batches a dataset import writes to PostgreSQL at once, 1–16 (provider; SQLite writes one at a time)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "HTTP read-header timeout")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "HTTP read timeout")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "HTTP write timeout")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "HTTP idle timeout")
	fs.DurationVar(&c.LedgerKeepAlive, "ledger-keepalive", c.LedgerKeepAlive, "ping the peer after this long without traffic on the gRPC connection (at least 10s, and no shorter than the peers' peer.keepalive.minInterval)")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "per-request handler timeout")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "graceful shutdown timeout")
	fs.DurationVar(&c.IdempotencyTTL, "idempotency-ttl", c.IdempotencyTTL, "how long idempotency keys are kept and replayed")
	fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit, "requests per second per client")
	fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, "burst per client")
	fs.IntVar(&c.WebhookMaxAttempts, "webhook-max-attempts", c.WebhookMaxAttempts, "attempts at a webhook delivery before it is parked (requester)")
	fs.DurationVar(&c.WebhookBaseDelay, "webhook-base-delay", c.WebhookBaseDelay, "wait after a webhook delivery's first failure; doubles with each failure (requester)")
	fs.DurationVar(&c.WebhookMaxDelay, "webhook-max-delay", c.WebhookMaxDelay, "longest wait between attempts at a webhook delivery (requester)")
	fs.BoolVar(&c.Dev, "dev", false, "development mode")

	// Environment first, as if given before the real flags, so flags win.
	envArgs, err := envToArgs(fs, env)
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(append(envArgs, args...)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("config: unexpected argument %q", fs.Arg(0))
	}
	if c.Roles, err = parseRoles(roles); err != nil {
		return nil, err
	}
	c.JWTVerifyKeyFiles = splitList(verify)
	c.OIDCACR, c.WebAuthnOrigins = splitList(acr), splitList(origins)
	c.fillDerived()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// envToArgs turns QC_FOO_BAR=v into -foo-bar=v for every defined flag.
// A QC_ variable that names no flag is an error: a typo must not pass
// silently.
func envToArgs(fs *flag.FlagSet, env []string) ([]string, error) {
	var out []string
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, EnvPrefix), "_", "-"))
		if fs.Lookup(name) == nil {
			return nil, fmt.Errorf("config: environment variable %s names no setting", k)
		}
		out = append(out, "-"+name+"="+v)
	}
	return out, nil
}

// EnvName returns the environment variable of a flag name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseRoles(s string) ([]Role, error) {
	var roles []Role
	seen := map[Role]bool{}
	for _, r := range splitList(s) {
		role := Role(strings.ToLower(r))
		if role != RoleRequester && role != RoleProvider {
			return nil, fmt.Errorf("config: roles: %q is not a role (requester, provider)", r)
		}
		if !seen[role] {
			seen[role] = true
			roles = append(roles, role)
		}
	}
	return roles, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fillDerived sets the defaults that depend on other settings.
func (c *Config) fillDerived() {
	if c.PublicURL == "" && c.Dev && c.Listen != "" {
		c.PublicURL = "http://" + c.Listen
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.OperatorAppURL == "" && c.PublicURL != "" && c.HasRole(RoleProvider) {
		c.OperatorAppURL = c.PublicURL + "/app/"
	}
	if pu, err := url.Parse(c.PublicURL); err == nil && pu.Host != "" && c.HasRole(RoleProvider) {
		if c.OIDCRedirectURL == "" && c.OIDCIssuer != "" {
			c.OIDCRedirectURL = c.PublicURL + "/citizen/v1/oidc/callback"
		}
		if c.WebAuthnRPID == "" {
			c.WebAuthnRPID = pu.Hostname()
		}
		if len(c.WebAuthnOrigins) == 0 {
			c.WebAuthnOrigins = []string{pu.Scheme + "://" + pu.Host}
		}
	}
	if c.DataDir == "" && c.StateDir != "" && c.Org != "" {
		c.DataDir = filepath.Join(c.StateDir, "gateway", strings.ToLower(c.Org))
	}
	if c.DataDir == "" {
		return
	}
	if c.StoreDSN == "" {
		c.StoreDSN = filepath.Join(c.DataDir, "gateway.db") // a plain path is SQLite
	}
	if c.JWTKeyFile == "" {
		c.JWTKeyFile = filepath.Join(c.DataDir, "jwt-signing.pem")
	}
}

var orgPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.-]{0,63}$`)

// Validate checks the configuration as a whole and reports every problem
// at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen: %q is not host:port", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("listen: port %q is not a port number", port)
	}
	if len(c.Roles) == 0 {
		bad("roles: at least one of requester, provider is required")
	}
	if !orgPattern.MatchString(c.Org) {
		bad("org: required, an MSP ID or short name (got %q)", c.Org)
	}
	for _, d := range []struct{ name, path string }{{"state-dir", c.StateDir}, {"data-dir", c.DataDir}} {
		if d.path == "" {
			bad("%s: required (flag --%s or %s)", d.name, d.name, EnvName(d.name))
		} else if !filepath.IsAbs(d.path) {
			bad("%s: must be an absolute path, got %q", d.name, d.path)
		}
	}
	if c.StoreDSN == "" {
		bad("store-dsn: required")
	}
	if c.JWTKeyFile == "" {
		bad("jwt-key-file: required")
	}
	if c.Issuer == "" || c.Audience == "" {
		bad("jwt-issuer and jwt-audience: required")
	}
	if c.TokenTTL < 30*time.Second || c.TokenTTL > time.Hour {
		bad("token-ttl: %s is outside 30s–1h (tokens are short-lived)", c.TokenTTL)
	}
	if c.HasRole(RoleProvider) && c.PseudonymKeyFile == "" {
		bad("pseudonym-key-file: required for the provider role")
	}
	if c.OperatorURL != "" && !strings.HasPrefix(c.OperatorURL, "https://") && !(c.Dev && strings.HasPrefix(c.OperatorURL, "http://")) {
		bad("operator-url: must be https:// (http:// only in dev mode)")
	}
	if c.OperatorAppURL != "" && !validAppURL(c.OperatorAppURL, c.Dev) {
		bad("operator-app-url: must be an https:// URL without query or fragment (http:// only in dev mode)")
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "https://") && !(c.Dev && strings.HasPrefix(c.PublicURL, "http://")) {
		bad("public-url: must be https:// (http:// only in dev mode)")
	}
	if c.BodyLimit < 1024 || c.BodyLimit > 64<<20 {
		bad("body-limit: %d is outside 1 KiB–64 MiB", c.BodyLimit)
	}
	if c.LoginPerMinute < 1 || c.LoginPerMinute > 600 {
		bad("login-per-minute: %d is outside 1–600", c.LoginPerMinute)
	}
	if c.LoginStartsPerCitizen < 1 || c.LoginStartsPerCitizen > 100 {
		bad("login-starts-per-citizen: must be within 1–100")
	}
	if c.OIDCIssuer != "" {
		if !strings.HasPrefix(c.OIDCIssuer, "https://") && !(c.Dev && strings.HasPrefix(c.OIDCIssuer, "http://")) {
			bad("oidc-issuer: must be https:// (http:// only in dev mode)")
		}
		if c.OIDCClientID == "" || c.OIDCRedirectURL == "" || c.OIDCIDClaim == "" {
			bad("oidc-client-id, oidc-redirect-url (or public-url) and oidc-id-claim: required with oidc-issuer")
		}
		if !c.Dev && len(c.OIDCACR) == 0 {
			bad("oidc-acr: required with oidc-issuer outside dev mode (the assurance levels a citizen login must reach)")
		}
	}
	for _, o := range c.WebAuthnOrigins {
		if u, err := url.Parse(o); err != nil || u.Host == "" || u.Path != "" || (u.Scheme != "https" && !(c.Dev && u.Scheme == "http")) {
			bad("webauthn-origins: %q is not an https:// origin (http:// only in dev mode)", o)
		}
	}
	if c.CitizenSessionIdle < time.Minute || c.CitizenSessionIdle > 4*time.Hour {
		bad("citizen-session-idle: %s is outside 1m–4h", c.CitizenSessionIdle)
	}
	if c.CitizenSessionMax < c.CitizenSessionIdle || c.CitizenSessionMax > 24*time.Hour {
		bad("citizen-session-max: %s must be at least citizen-session-idle (%s) and at most 24h", c.CitizenSessionMax, c.CitizenSessionIdle)
	}
	if c.PseudonymLookupsPerMinute < 1 || c.PseudonymLookupsPerMinute > 100000 {
		bad("pseudonym-lookups-per-minute: %d is outside 1–100000", c.PseudonymLookupsPerMinute)
	}
	if c.ImportLimit < 1024 || c.ImportLimit > 1<<30 {
		bad("import-limit: %d is outside 1 KiB–1 GiB", c.ImportLimit)
	}
	if c.ImportBatchSize < 1 || c.ImportBatchSize > 1<<16 {
		bad("import-batch-size: %d is outside 1–65536", c.ImportBatchSize)
	}
	if c.ImportAnchors < 1 || c.ImportAnchors > 64 {
		bad("import-anchors: %d is outside 1–64", c.ImportAnchors)
	}
	if c.ImportWriters < 1 || c.ImportWriters > 16 {
		bad("import-writers: %d is outside 1–16", c.ImportWriters)
	}
	if c.ImportTimeout < time.Minute || c.ImportTimeout > 24*time.Hour {
		bad("import-timeout: %s is outside 1m–24h", c.ImportTimeout)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"read-header-timeout", c.ReadHeaderTimeout}, {"read-timeout", c.ReadTimeout},
		{"write-timeout", c.WriteTimeout}, {"idle-timeout", c.IdleTimeout},
		{"request-timeout", c.RequestTimeout}, {"shutdown-timeout", c.ShutdownTimeout},
	} {
		if t.d <= 0 {
			bad("%s: must be positive, got %s", t.name, t.d)
		}
	}
	if c.LedgerKeepAlive < 10*time.Second {
		bad("ledger-keepalive: %s is shorter than gRPC's 10s minimum", c.LedgerKeepAlive)
	}
	if c.RequestTimeout > 0 && c.WriteTimeout > 0 && c.RequestTimeout >= c.WriteTimeout {
		bad("request-timeout (%s) must be shorter than write-timeout (%s), so timeouts are answered", c.RequestTimeout, c.WriteTimeout)
	}
	if c.IdempotencyTTL < 10*time.Minute || c.IdempotencyTTL > 30*24*time.Hour {
		bad("idempotency-ttl: %s is outside 10m–720h", c.IdempotencyTTL)
	}
	if c.RateLimit <= 0 || c.RateBurst < 1 {
		bad("rate-limit and rate-burst: must be positive")
	}
	if c.StoreMaxConns < 1 || c.StoreMaxConns > 1000 {
		bad("store-max-conns: %d is outside 1–1000", c.StoreMaxConns)
	}
	if c.WebhookMaxAttempts < 1 || c.WebhookMaxAttempts > 100 {
		bad("webhook-max-attempts: %d is outside 1–100", c.WebhookMaxAttempts)
	}
	if c.WebhookBaseDelay < 10*time.Millisecond || c.WebhookBaseDelay > time.Hour {
		bad("webhook-base-delay: %s is outside 10ms–1h", c.WebhookBaseDelay)
	}
	if c.WebhookMaxDelay < c.WebhookBaseDelay || c.WebhookMaxDelay > 24*time.Hour {
		bad("webhook-max-delay: %s must be at least webhook-base-delay (%s) and at most 24h", c.WebhookMaxDelay, c.WebhookBaseDelay)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: errs}
}

// ValidationError lists every problem Validate found.
type ValidationError struct{ Problems []error }

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the individual problems.
func (e *ValidationError) Unwrap() []error { return e.Problems }

// validAppURL reports whether u can be the consent app's URL that links
// add a fragment to: absolute https (http in dev mode), with a host, no
// query, fragment or user information.
func validAppURL(u string, dev bool) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" || strings.ContainsAny(u, "#? \t\r\n") {
		return false
	}
	return p.Scheme == "https" || (dev && p.Scheme == "http")
}
